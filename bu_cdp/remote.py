"""``remote_browser()``: a Playwright page on a browser made through the v3 API, always stopped.

``RemoteBrowser`` and ``AsyncRemoteBrowser`` are two thin faces over one procedure
(``_BrowserLife``), written once with ``bu_cdp._effects``: create the browser, connect
Playwright over its ``cdp_url``, find the page, and on the way out disconnect and stop.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bu_cdp._effects import Call, Pause, Procedure, run_async, run_sync
from bu_cdp.errors import BrowserConnectError
from bu_cdp.models import Browser

if TYPE_CHECKING:
    from playwright.async_api import Browser as AsyncPwBrowser
    from playwright.async_api import BrowserContext as AsyncContext
    from playwright.async_api import Page as AsyncPage
    from playwright.async_api import Playwright as AsyncPlaywright
    from playwright.sync_api import Browser as PwBrowser
    from playwright.sync_api import BrowserContext, Page, Playwright

    from bu_cdp.client import AsyncBrowserUse, BrowserUse

log = logging.getLogger("bu_cdp")

DEFAULT_CONNECT_TIMEOUT = 30.0


class _BrowserLife:
    """The one implementation: what happens to a remote browser from create to stop."""

    def __init__(
        self,
        *,
        profile_id: str | None = None,
        proxy_country_code: str | None = None,
        custom_proxy: dict[str, Any] | None = None,
        screen: tuple[int, int] | None = None,
        timeout: int | None = None,
        enable_recording: bool | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ) -> None:
        if screen is not None and (
            len(screen) != 2 or not all(isinstance(v, int) and v > 0 for v in screen)
        ):
            raise ValueError(f"screen must be (width, height) in pixels, got {screen!r}")
        self.fields: dict[str, Any] = {
            "profile_id": profile_id,
            "proxy_country_code": proxy_country_code,
            "custom_proxy": custom_proxy,
            "timeout": timeout,
            "enable_recording": enable_recording,
        }
        if screen is not None:
            self.fields["browserScreenWidth"], self.fields["browserScreenHeight"] = screen
        self.fields = {k: v for k, v in self.fields.items() if v is not None}
        self.connect_timeout = connect_timeout
        self.record: Browser | None = None
        self.browser: Any = None
        self.context: Any = None
        self.page: Any = None

    def open(self, client: Any, browser_type: Any) -> Procedure[None]:
        started = time.monotonic()
        self.record = yield Call(client.browsers, "create", kwargs=self.fields)
        log.info("created browser %s in %.2fs", self.record.id, time.monotonic() - started)
        try:
            yield from self._connect(browser_type)
            contexts = self.browser.contexts
            self.context = contexts[0] if contexts else (yield Call(self.browser, "new_context"))
            pages = self.context.pages
            self.page = pages[0] if pages else (yield Call(self.context, "new_page"))
        except BaseException:
            yield from self.close(client)
            raise

    def _connect(self, browser_type: Any) -> Procedure[None]:
        """Connect within ``connect_timeout``, retrying while a new browser is coming up."""
        assert self.record is not None and self.record.cdp_url
        url = self.record.cdp_url
        deadline = time.monotonic() + self.connect_timeout
        delay = 0.2
        started = time.monotonic()
        while True:
            left = deadline - time.monotonic()
            try:
                self.browser = yield Call(
                    browser_type, "connect_over_cdp", (url,), {"timeout": max(left, 0.1) * 1000}
                )
                break
            except Exception as exc:
                if time.monotonic() + delay >= deadline:
                    raise BrowserConnectError(
                        f"could not connect to browser {self.record.id} at "
                        f"{_host_of(url)} within {self.connect_timeout:.0f}s: "
                        f"{_redact(str(exc), url)}"
                    ) from None
                log.debug("connect to browser %s failed, retrying: %s", self.record.id, exc)
            yield Pause(delay)
            delay = min(delay * 2, 2.0)
        log.info("connected to browser %s in %.2fs", self.record.id, time.monotonic() - started)

    def close(self, client: Any) -> Procedure[None]:
        """Disconnect, then stop the browser; the stop happens even if disconnecting fails."""
        try:
            if self.browser is not None:
                try:
                    yield Call(self.browser, "close")
                except Exception as exc:
                    log.debug("disconnect from browser failed: %s", exc)
                self.browser = None
        finally:
            if self.record is not None and self.record.id and self.record.status != "stopped":
                started = time.monotonic()
                self.record = yield Call(client.browsers, "stop", (self.record.id,))
                log.info("stopped browser %s in %.2fs", self.record.id, time.monotonic() - started)


def _host_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


def _redact(text: str, cdp_url: str) -> str:
    """Remove the CDP address (it carries the browser's token) from an error message."""
    path = urlsplit(cdp_url).path
    text = text.replace(cdp_url, "<cdp_url>")
    return text.replace(path, "/<token>") if len(path) > 1 else text


class _Handle:
    """What both faces show: the browser's id, addresses and Playwright objects."""

    _life: _BrowserLife

    @property
    def id(self) -> str | None:
        return self._life.record.id if self._life.record else None

    @property
    def cdp_url(self) -> str | None:
        return self._life.record.cdp_url if self._life.record else None

    @property
    def live_url(self) -> str | None:
        return self._life.record.live_url if self._life.record else None

    @property
    def recording_url(self) -> str | None:
        return self._life.record.recording_url if self._life.record else None

    @property
    def status(self) -> str | None:
        return str(self._life.record.status) if self._life.record else None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id!r}, status={self.status!r})"


class RemoteBrowser(_Handle):
    """``with RemoteBrowser(**options) as rb:`` — ``rb.page``, ``rb.context``, ``rb.browser``.

    Options: ``profile_id``, ``proxy_country_code``, ``custom_proxy``, ``screen=(w, h)``,
    ``timeout`` (minutes), ``enable_recording``, ``connect_timeout`` (seconds), and where
    browsers come from: ``base_url``, ``api_key`` or a ready ``client``. Pass ``playwright``
    to share one Playwright instance between browsers.
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        client: BrowserUse | None = None,
        playwright: Playwright | None = None,
        **options: Any,
    ) -> None:
        self._life = _BrowserLife(**options)
        self._base_url, self._api_key = base_url, api_key
        self._client = client
        self._playwright = playwright
        self._owned = contextlib.ExitStack()

    @property
    def page(self) -> Page:
        return self._life.page  # type: ignore[no-any-return]

    @property
    def context(self) -> BrowserContext:
        return self._life.context  # type: ignore[no-any-return]

    @property
    def browser(self) -> PwBrowser:
        return self._life.browser  # type: ignore[no-any-return]

    def __enter__(self) -> RemoteBrowser:
        with self._owned as owned:
            if self._client is None:
                from bu_cdp.client import BrowserUse

                self._client = owned.enter_context(
                    BrowserUse(base_url=self._base_url, api_key=self._api_key)
                )
            if self._playwright is None:
                from playwright.sync_api import sync_playwright

                self._playwright = owned.enter_context(sync_playwright())
            run_sync(self._life.open(self._client, self._playwright.chromium))
            self._owned = owned.pop_all()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with self._owned:
            run_sync(self._life.close(self._client))


class AsyncRemoteBrowser(_Handle):
    """``async with AsyncRemoteBrowser(**options) as rb:`` — the async twin of RemoteBrowser."""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        client: AsyncBrowserUse | None = None,
        playwright: AsyncPlaywright | None = None,
        **options: Any,
    ) -> None:
        self._life = _BrowserLife(**options)
        self._base_url, self._api_key = base_url, api_key
        self._client = client
        self._playwright = playwright
        self._owned = contextlib.AsyncExitStack()

    @property
    def page(self) -> AsyncPage:
        return self._life.page  # type: ignore[no-any-return]

    @property
    def context(self) -> AsyncContext:
        return self._life.context  # type: ignore[no-any-return]

    @property
    def browser(self) -> AsyncPwBrowser:
        return self._life.browser  # type: ignore[no-any-return]

    async def __aenter__(self) -> AsyncRemoteBrowser:
        async with self._owned as owned:
            if self._client is None:
                from bu_cdp.client import AsyncBrowserUse

                self._client = await owned.enter_async_context(
                    AsyncBrowserUse(base_url=self._base_url, api_key=self._api_key)
                )
            if self._playwright is None:
                from playwright.async_api import async_playwright

                self._playwright = await owned.enter_async_context(async_playwright())
            await run_async(self._life.open(self._client, self._playwright.chromium))
            self._owned = owned.pop_all()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        async with self._owned:
            await run_async(self._life.close(self._client))


@contextlib.contextmanager
def remote_browser(**options: Any) -> Iterator[Page]:
    """``with remote_browser() as page:`` — a Playwright Page on a fresh remote browser.

    Takes the options of ``RemoteBrowser``. The browser is stopped on every way out.
    """
    with RemoteBrowser(**options) as handle:
        yield handle.page


@contextlib.asynccontextmanager
async def async_remote_browser(**options: Any) -> AsyncIterator[AsyncPage]:
    """``async with async_remote_browser() as page:`` — the async twin of remote_browser()."""
    async with AsyncRemoteBrowser(**options) as handle:
        yield handle.page
