"""``RemoteBrowser`` and ``AsyncRemoteBrowser``: two thin faces over ``_BrowserLife``
(``bu_cdp.remote.life``), each running its procedures with its own kind of objects."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Generic, Self, TypeVar, Unpack, cast

from bu_cdp import _exits
from bu_cdp.effects import run_async, run_sync
from bu_cdp.options import DEFAULT_CONNECT_TIMEOUT, BrowserOptions, plan_browser
from bu_cdp.remote.life import _BrowserLife, _is_cdp_address
from bu_cdp.remote.shared_playwright import (
    refuse_a_running_loop,
    thread_has_playwright,
    thread_playwright,
)
from bu_cdp.settings import choose_dialect

if TYPE_CHECKING:
    from playwright.async_api import Browser as AsyncPwBrowser
    from playwright.async_api import BrowserContext as AsyncContext
    from playwright.async_api import Page as AsyncPage
    from playwright.async_api import Playwright as AsyncPlaywright  # noqa: F401 (a base's)
    from playwright.sync_api import Browser as PwBrowser
    from playwright.sync_api import (
        BrowserContext,
        Page,
        Playwright,  # noqa: F401 (in a base class's string)
    )

    from bu_cdp.client import AsyncBrowserUse, BrowserUse, ClientSettings  # noqa: F401 (in the bases' strings)


log = logging.getLogger("bu_cdp")

# The faces cast what the life holds (either face's objects) to their own kind: the sync face
# gave it sync Playwright, so it holds sync objects; the async face, async ones.

ClientT = TypeVar("ClientT")  # a face's client: BrowserUse or AsyncBrowserUse
PlaywrightT = TypeVar("PlaywrightT")  # a face's Playwright: sync or async


class _Handle(Generic[ClientT, PlaywrightT]):
    """What both faces share: how they are made, and what they show of the browser."""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        dialect: str | None = None,
        client: ClientT | None = None,
        playwright: PlaywrightT | None = None,
        **options: Unpack[BrowserOptions],
    ) -> None:
        self._life = _BrowserLife(plan_browser(type(self).__name__, dict(options)))
        if client is None:  # a bad dialect is an error here, before anything starts
            choose_dialect(base_url or "", dialect)
        self._base_url, self._api_key, self._dialect = base_url, api_key, dialect
        self._client = client
        self._playwright = playwright
        self._used = False

    @classmethod
    def attach(
        cls,
        browser: str,
        *,
        stop: bool = False,
        base_url: str | None = None,
        api_key: str | None = None,
        dialect: str | None = None,
        client: ClientT | None = None,
        playwright: PlaywrightT | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        reconnect: bool = False,
    ) -> Self:
        """Join a browser that already runs: by id (its ``cdp_url`` comes from the API) or by
        ``cdp_url``. It is left running after the block unless ``stop=True`` (an id only)."""
        caller = f"{cls.__name__}.attach"
        if not isinstance(browser, str) or not browser:
            raise TypeError(f"{caller}() needs a browser id or a cdp_url, got {browser!r}")
        if stop and _is_cdp_address(browser):
            raise ValueError(f"{caller}(stop=True) needs a browser id: a cdp_url cannot be stopped")
        handle = cls(
            base_url=base_url,
            api_key=api_key,
            dialect=dialect,
            client=client,
            playwright=playwright,
            connect_timeout=connect_timeout,
            reconnect=reconnect,
        )
        handle._life.attach_to = browser
        handle._life.stop_attached = stop
        return handle

    @contextlib.contextmanager
    def _entering(self) -> Iterator[None]:
        """A block opens: once per handle, with SIGTERM unwinding it; undone if opening fails
        (after what was opened inside is closed)."""
        self._use_once()
        _exits.block_entered()
        try:
            yield
        except BaseException:
            _exits.block_left()
            raise

    def _where(self) -> ClientSettings:
        """What a client the handle makes for itself is given."""
        return {"base_url": self._base_url, "api_key": self._api_key, "dialect": self._dialect}

    def _use_once(self) -> None:
        """A handle stands for one browser's life: entering it again is a mistake."""
        if self._used:
            name = type(self).__name__
            of = f" (browser {self.id})" if self.id else ""
            raise RuntimeError(
                f"this {name} was already used{of}; make a new one, or join a running browser "
                f"with {name}.attach(browser_id)"
            )
        self._used = True

    @property
    def id(self) -> str | None:
        return self._life.id

    @property
    def cdp_url(self) -> str | None:
        """The CDP address. It carries the browser's token: keep it out of logs."""
        return self._life.record.cdp_url if self._life.record else None

    @property
    def live_url(self) -> str | None:
        return self._life.record.live_url if self._life.record else None

    @property
    def recording_url(self) -> str | None:
        """After the block, with ``enable_recording=True``: where the recording is."""
        return self._life.record.recording_url if self._life.record else None

    @property
    def status(self) -> str | None:
        return str(self._life.record.status) if self._life.record else None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id!r}, status={self.status!r})"


class RemoteBrowser(_Handle["BrowserUse", "Playwright"]):
    """``with RemoteBrowser(**options) as rb:`` — ``rb.page``, ``rb.context``, ``rb.browser``.

    Options (all optional, see ``BrowserOptions``): ``profile`` (id or name),
    ``create_profile``, ``profile_id``, ``proxy_country_code``, ``custom_proxy``,
    ``screen=(w, h)``, ``timeout`` (minutes), ``enable_recording``, ``recording_timeout``,
    ``keep_alive``, ``connect_timeout`` (seconds), ``reconnect``. Where browsers come from:
    ``base_url``, ``api_key``, ``dialect`` (``seed``/``hosted``/``auto``) or a ready
    ``client``; pass ``playwright`` to share one
    Playwright between browsers. ``RemoteBrowser.attach(...)`` joins a running browser.
    A handle is entered once.
    """

    _owned: contextlib.ExitStack

    @property
    def page(self) -> Page:
        self._reconnect_if_dropped()
        return cast("Page", self._life.page)

    @property
    def context(self) -> BrowserContext:
        self._reconnect_if_dropped()
        return cast("BrowserContext", self._life.context)

    @property
    def browser(self) -> PwBrowser:
        self._reconnect_if_dropped()
        return cast("PwBrowser", self._life.browser)

    def reconnect(self) -> bool:
        """Reconnect now if the CDP socket dropped (``reconnect=True``); True if it did."""
        if self._playwright is None:
            return False
        return run_sync(self._life.reconnect(self._client, self._playwright.chromium))

    def _reconnect_if_dropped(self) -> None:
        # Sync Playwright cannot connect from inside its own event handler, so the reconnect
        # happens here, the next time the program asks for a Playwright object.
        if self._life.wants_reconnect:
            self.reconnect()

    def _on_disconnected(self, _browser: object) -> None:
        self._life.disconnected()

    def __enter__(self) -> Self:
        if self._playwright is None and not thread_has_playwright():
            refuse_a_running_loop(type(self).__name__)  # before anything is started
        with self._entering(), contextlib.ExitStack() as owned:
            if self._client is None and self._life.needs_client:
                from bu_cdp.client import BrowserUse

                self._client = owned.enter_context(BrowserUse(**self._where()))
            if self._playwright is None:
                self._playwright = owned.enter_context(thread_playwright())
            opening = self._life.open(
                self._client, self._playwright.chromium, self._on_disconnected
            )
            run_sync(opening)
            self._owned = owned.pop_all()
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            with self._owned:
                run_sync(self._life.close(self._client))
        finally:
            _exits.block_left()


class AsyncRemoteBrowser(_Handle["AsyncBrowserUse", "AsyncPlaywright"]):
    """``async with AsyncRemoteBrowser(**options) as rb:`` — the async twin of RemoteBrowser.

    After a dropped CDP socket (``reconnect=True``) the handle reconnects in the background at
    once; ``await rb.reconnect()`` waits for that. A reconnect still under way when the block
    ends is cancelled, before the browser is stopped.
    """

    _owned: contextlib.AsyncExitStack
    _reconnecting: asyncio.Task[bool] | None = None  # the background reconnect

    @property
    def page(self) -> AsyncPage:
        return cast("AsyncPage", self._life.page)

    @property
    def context(self) -> AsyncContext:
        return cast("AsyncContext", self._life.context)

    @property
    def browser(self) -> AsyncPwBrowser:
        return cast("AsyncPwBrowser", self._life.browser)

    async def reconnect(self) -> bool:
        """Reconnect if the CDP socket dropped, or wait for the reconnect under way."""
        if self._reconnecting is not None:
            task, self._reconnecting = self._reconnecting, None
            return await asyncio.shield(task)
        if self._playwright is None:
            return False
        return await run_async(self._life.reconnect(self._client, self._playwright.chromium))

    def _on_disconnected(self, _browser: object) -> None:
        if self._life.disconnected() and self._playwright is not None:
            procedure = self._life.reconnect(self._client, self._playwright.chromium)
            self._reconnecting = asyncio.ensure_future(run_async(procedure))
            self._reconnecting.add_done_callback(self._reconnect_done)

    def _reconnect_done(self, task: asyncio.Task[bool]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("reconnect to browser %s failed: %s", self.id, task.exception())

    async def _end_reconnect(self) -> None:
        """No reconnect may outlive the block: cancel one under way, and wait until it is."""
        self._life.closing = True  # and no new one starts
        task, self._reconnecting = self._reconnecting, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task])

    async def __aenter__(self) -> Self:
        with self._entering():
            async with contextlib.AsyncExitStack() as owned:
                if self._client is None and self._life.needs_client:
                    from bu_cdp.client import AsyncBrowserUse

                    self._client = await owned.enter_async_context(AsyncBrowserUse(**self._where()))
                if self._playwright is None:
                    from playwright.async_api import async_playwright

                    self._playwright = await owned.enter_async_context(async_playwright())
                opening = self._life.open(
                    self._client, self._playwright.chromium, self._on_disconnected
                )
                await run_async(opening)
                self._owned = owned.pop_all()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            async with self._owned:
                try:
                    await self._end_reconnect()
                finally:
                    await run_async(self._life.close(self._client))
        finally:
            _exits.block_left()
