"""``remote_browser()``: a Playwright page on a browser made through the v3 API, always stopped.

``RemoteBrowser`` and ``AsyncRemoteBrowser`` (``faces``) are two thin faces over one
implementation, ``_BrowserLife`` (``life``): create or attach, connect over CDP, reconnect,
and on the way out disconnect, stop (or leave running) and wait for the recording.
``thread_playwright()`` (``shared_playwright``) is the thread's sync Playwright that blocks,
and the pytest plugin's session, share.

The options are checked by ``bu_cdp.options`` (shared with the pytest plugin and the CLI).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Unpack

from bu_cdp._exits import Terminated, unwind_on_sigterm
from bu_cdp.options import BrowserOptions
from bu_cdp.remote.faces import AsyncRemoteBrowser, RemoteBrowser
from bu_cdp.remote.shared_playwright import thread_playwright

if TYPE_CHECKING:
    from playwright.async_api import Page as AsyncPage
    from playwright.async_api import Playwright as AsyncPlaywright
    from playwright.sync_api import Page, Playwright

    from bu_cdp.client import AsyncBrowserUse, BrowserUse

__all__ = [
    "AsyncRemoteBrowser",
    "BrowserOptions",
    "RemoteBrowser",
    "Terminated",
    "async_remote_browser",
    "remote_browser",
    "thread_playwright",
    "unwind_on_sigterm",
]


class OneLinerOptions(BrowserOptions, total=False):
    """The one-liners' keywords besides ``client`` and ``playwright``: the browser's options,
    and where browsers come from (``base_url``, ``api_key``, ``dialect``), as for the handles."""

    base_url: str | None
    api_key: str | None
    dialect: str | None


def remote_browser(
    *,
    client: BrowserUse | None = None,
    playwright: Playwright | None = None,
    **options: Unpack[OneLinerOptions],
) -> contextlib.AbstractContextManager[Page]:
    """``with remote_browser() as page:`` — a Playwright Page on a fresh remote browser.

    Takes the options of ``RemoteBrowser`` (checked here, at the call) but ``reconnect``: the
    one Page it yields would be dead after a reconnect. The browser is stopped on every way out.
    """
    _no_reconnect("remote_browser", options)
    return _page_of(RemoteBrowser(client=client, playwright=playwright, **options))


def _no_reconnect(caller: str, options: BrowserOptions) -> None:
    # A reconnect makes new Playwright objects; the one-liner has handed out its Page already.
    if options.get("reconnect"):
        block = (
            "async with AsyncRemoteBrowser" if caller.startswith("async") else "with RemoteBrowser"
        )
        raise TypeError(
            f"{caller}(): reconnect=True needs the handle, whose rb.page is the new Page after "
            f"a reconnect: use `{block}(reconnect=True) as rb:`"
        )


@contextlib.contextmanager
def _page_of(handle: RemoteBrowser) -> Iterator[Page]:
    with handle:
        yield handle.page


def async_remote_browser(
    *,
    client: AsyncBrowserUse | None = None,
    playwright: AsyncPlaywright | None = None,
    **options: Unpack[OneLinerOptions],
) -> contextlib.AbstractAsyncContextManager[AsyncPage]:
    """``async with async_remote_browser() as page:`` — the async twin of remote_browser()."""
    _no_reconnect("async_remote_browser", options)
    return _async_page_of(AsyncRemoteBrowser(client=client, playwright=playwright, **options))


@contextlib.asynccontextmanager
async def _async_page_of(handle: AsyncRemoteBrowser) -> AsyncIterator[AsyncPage]:
    async with handle:
        yield handle.page
