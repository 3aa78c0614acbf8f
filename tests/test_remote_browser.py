"""remote_browser() end to end: real Chromium through the real local server over HTTP."""

from __future__ import annotations

import pytest

from bu_cdp import AsyncBrowserUse, BrowserUse, async_remote_browser, remote_browser
from bu_cdp.errors import AuthenticationError
from tests.support.pages import PageServer


def test_opens_a_local_page_and_reads_its_title(api: dict[str, str], pages: PageServer) -> None:
    with remote_browser(**api) as page:
        page.goto(pages.url + "/about")
        assert page.title() == "About us"
        assert page.locator("h1").inner_text() == "About"


def test_browser_is_stopped_after_the_block(api: dict[str, str], pages: PageServer) -> None:
    from bu_cdp import RemoteBrowser

    with RemoteBrowser(**api) as handle:
        handle.page.goto(pages.url)
        browser_id = handle.id
        with BrowserUse(**api) as client:
            assert client.browsers.get(browser_id).status == "active"
    with BrowserUse(**api) as client:
        assert client.browsers.get(browser_id).status == "stopped"


def test_an_exception_inside_the_block_still_stops_the_browser(api: dict[str, str]) -> None:
    from bu_cdp import RemoteBrowser

    handle = RemoteBrowser(**api)
    with pytest.raises(RuntimeError, match="boom"), handle:
        raise RuntimeError("boom")
    assert handle.id is not None
    with BrowserUse(**api) as client:
        assert client.browsers.get(handle.id).status == "stopped"


def test_keyboard_interrupt_inside_the_block_still_stops_the_browser(api: dict[str, str]) -> None:
    from bu_cdp import RemoteBrowser

    handle = RemoteBrowser(**api)
    with pytest.raises(KeyboardInterrupt), handle:
        raise KeyboardInterrupt
    with BrowserUse(**api) as client:
        assert client.browsers.get(handle.id or "").status == "stopped"


async def test_async_twin(api: dict[str, str], pages: PageServer) -> None:
    from bu_cdp import AsyncRemoteBrowser

    async with AsyncRemoteBrowser(**api) as handle:
        await handle.page.goto(pages.url + "/about")
        assert await handle.page.title() == "About us"
    async with AsyncBrowserUse(**api) as client:
        assert (await client.browsers.get(handle.id or "")).status == "stopped"

    async with async_remote_browser(**api) as page:
        await page.goto(pages.url)
        assert await page.title() == "Home"


def test_wrong_api_key_is_an_authentication_error(api: dict[str, str]) -> None:
    with (
        pytest.raises(AuthenticationError) as caught,
        remote_browser(base_url=api["base_url"], api_key="wrong-key"),
    ):
        pass
    assert caught.value.status_code == 401
    assert "wrong-key" not in str(caught.value)


def test_screen_size_is_what_the_page_sees(api: dict[str, str], pages: PageServer) -> None:
    with remote_browser(screen=(1024, 600), **api) as page:
        page.goto(pages.url + "/size")
        assert page.title() == "1024x600"


def test_embedded_default_needs_no_configuration(pages: PageServer) -> None:
    with remote_browser() as page:
        page.goto(pages.url)
        assert page.title() == "Home"
