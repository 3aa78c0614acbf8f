"""``remote_browser()``: a Playwright page on a browser made through the v3 API, always stopped.

``RemoteBrowser`` and ``AsyncRemoteBrowser`` are two thin faces over one implementation,
``_BrowserLife``, whose procedures (``bu_cdp._effects``) do everything once: find the profile,
create or look up the browser, connect Playwright over its ``cdp_url`` (bounded, retried while
the browser comes up), find the page, reconnect once if asked, and on the way out disconnect,
stop (or leave running, when asked) and wait for the recording.

The options are checked by ``bu_cdp.options`` (shared with the pytest plugin and the CLI).
Nothing here logs or raises an API key, a CDP address or a token: only browser ids, hosts and
live-view URLs.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import inspect
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar, Unpack
from urllib.parse import urlsplit

from bu_cdp import _exits
from bu_cdp._effects import Call, Pause, Procedure, run_async, run_sync
from bu_cdp._exits import unwind_on_sigterm
from bu_cdp.errors import BrowserConnectError, BuCdpError, NotFoundError
from bu_cdp.models import Browser, BrowserStatus
from bu_cdp.options import (
    DEFAULT_CONNECT_TIMEOUT,
    BrowserOptions,
    BrowserPlan,
    plan_browser,
)
from bu_cdp.profile_lookup import create_fields
from bu_cdp.settings import choose_dialect

if TYPE_CHECKING:
    from playwright.async_api import Browser as AsyncPwBrowser
    from playwright.async_api import BrowserContext as AsyncContext
    from playwright.async_api import Page as AsyncPage
    from playwright.async_api import Playwright as AsyncPlaywright
    from playwright.sync_api import Browser as PwBrowser
    from playwright.sync_api import BrowserContext, Page, Playwright

    from bu_cdp.client import AsyncBrowserUse, BrowserUse
    from bu_cdp.settings import Target

__all__ = [
    "AsyncRemoteBrowser",
    "BrowserOptions",
    "RemoteBrowser",
    "async_remote_browser",
    "remote_browser",
    "thread_playwright",
    "unwind_on_sigterm",
]

log = logging.getLogger("bu_cdp")


def _is_cdp_address(target: str) -> bool:
    return target.split("://", 1)[0].lower() in ("ws", "wss", "http", "https")


class _BrowserLife:
    """The one implementation: what happens to a remote browser from create (or attach) to stop."""

    def __init__(self, plan: BrowserPlan) -> None:
        self.plan = plan
        self.attach_to: str | None = None  # a browser id or a cdp_url: attach, do not create
        self.stop_attached = False
        self.record: Browser | None = None
        self.browser: Any = None
        self.context: Any = None
        self.page: Any = None
        self.created = False  # this handle created it
        self.closing = False
        self.dropped = False  # the CDP socket went away while the block ran
        self.reconnects_left = 1 if plan.reconnect else 0
        self.target: Target | None = None  # the API it was created or found on

    @property
    def owns(self) -> bool:
        """This handle stops the browser at the end: it created it, or attached with stop."""
        return self.created or self.stop_attached

    @property
    def wants_reconnect(self) -> bool:
        """The CDP socket dropped while the block runs, and a reconnect is left."""
        return self.dropped and self.reconnects_left > 0 and not self.closing

    @property
    def needs_client(self) -> bool:
        """Attaching by CDP address needs no API at all (so no embedded server is started)."""
        return not (self.attach_to is not None and _is_cdp_address(self.attach_to))

    @property
    def id(self) -> str | None:
        return self.record.id if self.record is not None else None

    # -- open ------------------------------------------------------------------------------

    def open(
        self,
        client: Any,
        browser_type: Any,
        on_disconnected: Callable[[Any], Any] | None = None,
    ) -> Procedure[None]:
        self.target = getattr(client, "target", None)
        if self.attach_to is None:
            yield from self._create(client)
        else:
            yield from self._find(client)
        try:
            yield from self._connect(client, browser_type, on_disconnected)
            yield from self._pick_page()
        except BaseException:
            yield from self.close(client, failed=True)
            raise

    def _create(self, client: Any) -> Procedure[None]:
        fields = yield from create_fields(client, self.plan)
        started = time.monotonic()
        self.record = yield Call(client.browsers, "create", kwargs=fields)
        self.created = True
        if self.target is not None and self.id:
            _exits.created(self.target, self.id)
        log.info("created browser %s in %.2fs", self.id, time.monotonic() - started)
        live = self.record.live_url
        if live and (self.plan.enable_recording or self.plan.keep_alive):
            # Asked for so a person can watch; the only address ever logged (it opens the
            # live view, so it is not written for browsers nobody asked to watch).
            log.info("watch browser %s live at %s", self.id, live)

    def _find(self, client: Any) -> Procedure[None]:
        """Attach: look up a browser that already runs."""
        assert self.attach_to is not None
        if _is_cdp_address(self.attach_to):
            self.record = Browser(cdp_url=self.attach_to, status=BrowserStatus.ACTIVE)
            return
        self.record = yield Call(client.browsers, "get", (self.attach_to,))
        if _ended(self.record):
            raise BrowserConnectError(
                f"browser {self.attach_to} is {self.record.status}: there is nothing to attach to"
            )
        if self.stop_attached and self.target is not None and self.id:
            _exits.track(self.target.base_url, self.target.api_key, self.id, self.target.dialect)

    def _connect(
        self, client: Any, browser_type: Any, on_disconnected: Callable[[Any], Any] | None
    ) -> Procedure[None]:
        """Connect within ``connect_timeout``, retrying while a new browser is coming up."""
        assert self.record is not None
        url = self.record.cdp_url
        name = f"browser {self.id}" if self.id else "the browser"
        if not url:
            raise BrowserConnectError(f"{name} has no cdp_url to connect to")
        bound = self.plan.connect_timeout
        started = time.monotonic()
        deadline = started + bound
        delay = 0.2
        while True:
            left = deadline - time.monotonic()
            try:
                self.browser = yield Call(
                    browser_type, "connect_over_cdp", (url,), {"timeout": max(left, 0.1) * 1000}
                )
                break
            except Exception as exc:
                reason = _redact(_first_line(exc), url)
                if time.monotonic() + delay >= deadline:
                    raise BrowserConnectError(
                        f"could not connect to {name} at {_host_of(url)} within {bound:g}s: "
                        f"{reason}"
                    ) from None
                log.debug("connect to %s failed, retrying: %s", name, reason)
            # A browser that has ended will never come up: say so now, not at the deadline.
            # The question fits in what is left of the bound, or is not asked.
            left = deadline - time.monotonic()
            if client is not None and self.id and left > 0:
                try:
                    now = yield Call(client.browsers, "get", (self.id,), {"request_timeout": left})
                except BuCdpError:
                    now = None
                if now is not None and _ended(now):
                    raise BrowserConnectError(
                        f"could not connect to {name} at {_host_of(url)}: it is {now.status}"
                    )
            yield Pause(delay)
            delay = min(delay * 2, 2.0)
        self.dropped = False
        if on_disconnected is not None and self.reconnects_left > 0:
            self.browser.on("disconnected", on_disconnected)
        log.info("connected to %s at %s in %.2fs", name, _host_of(url), time.monotonic() - started)

    def _pick_page(self) -> Procedure[None]:
        contexts = self.browser.contexts
        self.context = contexts[0] if contexts else (yield Call(self.browser, "new_context"))
        pages = self.context.pages
        self.page = pages[0] if pages else (yield Call(self.context, "new_page"))
        if self.plan.screen is not None:
            # The server sizes the window; where a window frame eats into it, the page's
            # viewport is set so the page still sees exactly the size asked for.
            width, height = self.plan.screen
            size = {"width": width, "height": height}
            seen = yield Call(self.page, "evaluate", ("[innerWidth, innerHeight]",))
            if tuple(seen) != self.plan.screen:
                log.debug("viewport %s is not the screen %s: setting it", seen, self.plan.screen)
                yield Call(self.page, "set_viewport_size", (size,))
            # New tabs and popups open at Chromium's default window size: give them the screen.
            self.context.on("page", _viewport_setter(size))

    # -- while it runs ---------------------------------------------------------------------

    def disconnected(self) -> bool:
        """Note a dropped CDP socket; True when a reconnect should follow."""
        if self.closing:
            return False
        self.dropped = True
        log.warning("CDP connection to browser %s dropped", self.id or "(attached)")
        return self.wants_reconnect

    def reconnect(self, client: Any, browser_type: Any) -> Procedure[bool]:
        """Reconnect once after a drop, if the browser is still active; refresh the objects."""
        if not self.wants_reconnect:
            return False
        self.reconnects_left -= 1
        if client is not None and self.id:
            now = yield Call(client.browsers, "get", (self.id,))
            if _ended(now):
                log.warning("browser %s is %s: not reconnecting", self.id, now.status)
                return False
        started = time.monotonic()
        self.browser = None
        yield from self._connect(client, browser_type, None)
        if self.closing:  # the block ended meanwhile: this connection has nobody to serve
            yield from self._disconnect()
            return False
        yield from self._pick_page()
        log.info("reconnected to browser %s in %.2fs", self.id, time.monotonic() - started)
        return True

    # -- close -----------------------------------------------------------------------------

    def close(self, client: Any, *, failed: bool = False) -> Procedure[None]:
        """Disconnect, then stop the browser (or leave it running, when that was asked).

        The stop happens even if disconnecting fails; a stop that fails is retried at exit.
        A browser that could not be opened (``failed``) is stopped even with keep_alive: nobody
        ever had it.
        """
        self.closing = True
        try:
            yield from self._disconnect()
        finally:
            if self.owns and (failed or not self.plan.keep_alive):
                yield from self._stop(client)
            elif self.created:
                self._leave_running()
            elif self.id:
                log.info("disconnected from browser %s; it keeps running (attached)", self.id)

    def _disconnect(self) -> Procedure[None]:
        if self.browser is not None:
            browser, self.browser = self.browser, None
            try:
                yield Call(browser, "close")
            except Exception as exc:
                log.debug("disconnect from browser %s failed: %s", self.id, type(exc).__name__)

    def _stop(self, client: Any) -> Procedure[None]:
        assert self.record is not None and self.record.id
        browser_id = self.record.id
        if self.record.status != BrowserStatus.STOPPED:
            started = time.monotonic()
            try:
                self.record = yield Call(client.browsers, "stop", (browser_id,))
                log.info("stopped browser %s in %.2fs", browser_id, time.monotonic() - started)
            except NotFoundError:
                log.warning("browser %s was already gone when stopped", browser_id)
            except BaseException as exc:
                log.warning(
                    "could not stop browser %s (%s); it is stopped again at exit",
                    browser_id,
                    type(exc).__name__,
                )
                raise
        if self.target is not None:
            _exits.stopped(self.target.base_url, browser_id)
        if self.plan.enable_recording:
            yield from self._await_recording(client)

    def _await_recording(self, client: Any) -> Procedure[None]:
        """Poll, with backoff and a bound, until the stopped browser's recording URL is there."""
        assert self.record is not None and self.record.id
        if self.record.recording_url:
            return
        started = time.monotonic()
        deadline = started + self.plan.recording_timeout
        delay = 0.25
        while (left := deadline - time.monotonic()) > 0:
            yield Pause(min(delay, left))
            delay = min(delay * 2, 4.0)
            try:
                now = yield Call(client.browsers, "get", (self.record.id,))
            except BuCdpError as exc:
                log.warning("recording of browser %s: %s", self.record.id, exc)
                return
            if now.recording_available is False:  # hosted: it said none will come
                log.warning("browser %s has no recording", self.record.id)
                return
            if now.recording_url:
                self.record = now
                log.info(
                    "recording of browser %s ready after %.1fs",
                    self.record.id,
                    time.monotonic() - started,
                )
                return
        log.warning(
            "recording of browser %s not ready after %gs; ask later with "
            "client.browsers.get(%r).recording_url",
            self.record.id,
            self.plan.recording_timeout,
            self.record.id,
        )

    def _leave_running(self) -> None:
        assert self.record is not None and self.record.id
        if self.target is not None:
            _exits.kept(self.target, self.record.id)
        if self.target is not None and self.target.embedded:
            log.info(
                "browser %s left running (keep_alive=True) until this process exits: the "
                "embedded server ends with it and stops it then; reattach meanwhile with "
                "RemoteBrowser.attach(%r). To outlive the process, run `bu-cdp serve` and set "
                "BU_CDP_BASE_URL",
                self.record.id,
                self.record.id,
            )
            return
        minutes = (self.record.model_extra or {}).get("timeout") or self.plan.fields.get("timeout")
        until = f"its {minutes}-minute timeout" if minutes else "its server-side timeout"
        log.info(
            "browser %s left running (keep_alive=True) until stopped or %s; reattach with "
            "RemoteBrowser.attach(%r); stop with client.browsers.stop(%r) "
            "or `bu-cdp browsers stop --leaked --include-kept`",
            self.record.id,
            until,
            self.record.id,
            self.record.id,
        )


def _ended(browser: Browser) -> bool:
    """Stopped, timed out or failed: it will not come (back) up. No status is not an ending."""
    return browser.status not in (None, BrowserStatus.ACTIVE)


def _viewport_setter(size: dict[str, int]) -> Callable[[Any], Awaitable[None] | None]:
    """A "page" listener giving each new tab the screen's viewport. A popup may close before
    it is sized: that is no error (and must not become an unhandled one in the listener)."""

    def on_page(page: Any) -> Awaitable[None] | None:
        try:
            pending = page.set_viewport_size(size)  # sync: done; async: a coroutine
        except Exception as exc:
            log.debug("could not size a new tab (%s)", _first_line(exc))
            return None
        return _quietly(pending) if inspect.isawaitable(pending) else None

    return on_page


async def _quietly(pending: Awaitable[Any]) -> None:
    try:
        await pending
    except Exception as exc:
        log.debug("could not size a new tab (%s)", _first_line(exc))


def _host_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else "") or type(exc).__name__


def _redact(text: str, cdp_url: str) -> str:
    """Remove the CDP address, and any token in it, from a message."""
    parts = urlsplit(cdp_url)
    secrets = [cdp_url, parts.query, parts.path if len(parts.path) > 1 else ""]
    secrets += [segment for segment in parts.path.split("/") if len(segment) >= 16]
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        text = text.replace(secret, "<redacted>")
    return text


# -- the faces -----------------------------------------------------------------------------


C = TypeVar("C")  # a face's client: BrowserUse or AsyncBrowserUse
P = TypeVar("P")  # a face's Playwright: sync or async


class _Handle(Generic[C, P]):
    """What both faces share: how they are made, and what they show of the browser."""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        dialect: str | None = None,
        client: C | None = None,
        playwright: P | None = None,
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
        client: C | None = None,
        playwright: P | None = None,
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


_local = threading.local()


@contextlib.contextmanager
def thread_playwright() -> Iterator[Playwright]:
    """This thread's sync Playwright, shared by its handles: sync Playwright allows only one
    per thread, and nested blocks are common. Stopped when the last handle is done with it."""
    shared: list[Any] | None = getattr(_local, "playwright", None)
    if shared is None:
        from playwright.sync_api import sync_playwright

        shared = _local.playwright = [sync_playwright().start(), 0]
        if threading.current_thread() is threading.main_thread():
            # A block entered and never left keeps it running: stop it at exit, after the
            # sweep has stopped the browsers (atexit runs hooks last-registered first).
            atexit.register(_stop_main_playwright, shared)
    shared[1] += 1
    try:
        yield shared[0]
    finally:
        shared[1] -= 1
        if shared[1] == 0:
            _local.playwright = None
            shared[0].stop()
            if threading.current_thread() is threading.main_thread():
                atexit.unregister(_stop_main_playwright)


def _refuse_a_running_loop(caller: str) -> None:
    """Sync Playwright cannot start where an event loop runs; say why, and what to do.

    Called only when this thread has no sync Playwright of bu-cdp's: a loop running here is
    then the program's own sync Playwright (it marks its loop running between calls, with no
    task) or the program's async code (a task runs).
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    if asyncio.current_task() is None:
        raise RuntimeError(
            f"{caller} was entered while this thread runs a sync Playwright of its own "
            f"(sync_playwright()), and a thread can run only one: pass that instance, as in "
            f"remote_browser(playwright=pw) or RemoteBrowser(playwright=pw)"
        )
    raise RuntimeError(
        f"{caller} is the sync API, entered here inside a running asyncio loop: use "
        f"`async with async_remote_browser()` or `async with AsyncRemoteBrowser()` instead"
    )


def _stop_main_playwright(shared: list[Any]) -> None:
    if shared[1] > 0:
        shared[1] = 0
        _local.playwright = None
        with contextlib.suppress(Exception):
            shared[0].stop()


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
        return self._life.page  # type: ignore[no-any-return]

    @property
    def context(self) -> BrowserContext:
        self._reconnect_if_dropped()
        return self._life.context  # type: ignore[no-any-return]

    @property
    def browser(self) -> PwBrowser:
        self._reconnect_if_dropped()
        return self._life.browser  # type: ignore[no-any-return]

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

    def _on_disconnected(self, _browser: Any) -> None:
        self._life.disconnected()

    def __enter__(self) -> Self:
        if self._playwright is None and getattr(_local, "playwright", None) is None:
            _refuse_a_running_loop(type(self).__name__)  # before anything is started
        self._use_once()
        _exits.block_entered()
        try:
            with contextlib.ExitStack() as owned:
                if self._client is None and self._life.needs_client:
                    from bu_cdp.client import BrowserUse

                    self._client = owned.enter_context(
                        BrowserUse(
                            base_url=self._base_url, api_key=self._api_key, dialect=self._dialect
                        )
                    )
                if self._playwright is None:
                    self._playwright = owned.enter_context(thread_playwright())
                run_sync(
                    self._life.open(self._client, self._playwright.chromium, self._on_disconnected)
                )
                self._owned = owned.pop_all()
        except BaseException:
            _exits.block_left()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
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
        return self._life.page  # type: ignore[no-any-return]

    @property
    def context(self) -> AsyncContext:
        return self._life.context  # type: ignore[no-any-return]

    @property
    def browser(self) -> AsyncPwBrowser:
        return self._life.browser  # type: ignore[no-any-return]

    async def reconnect(self) -> bool:
        """Reconnect if the CDP socket dropped, or wait for the reconnect under way."""
        if self._reconnecting is not None:
            task, self._reconnecting = self._reconnecting, None
            return await asyncio.shield(task)
        if self._playwright is None:
            return False
        return await run_async(self._life.reconnect(self._client, self._playwright.chromium))

    def _on_disconnected(self, _browser: Any) -> None:
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
        self._use_once()
        _exits.block_entered()
        try:
            async with contextlib.AsyncExitStack() as owned:
                if self._client is None and self._life.needs_client:
                    from bu_cdp.client import AsyncBrowserUse

                    self._client = await owned.enter_async_context(
                        AsyncBrowserUse(
                            base_url=self._base_url, api_key=self._api_key, dialect=self._dialect
                        )
                    )
                if self._playwright is None:
                    from playwright.async_api import async_playwright

                    self._playwright = await owned.enter_async_context(async_playwright())
                await run_async(
                    self._life.open(self._client, self._playwright.chromium, self._on_disconnected)
                )
                self._owned = owned.pop_all()
        except BaseException:
            _exits.block_left()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            async with self._owned:
                try:
                    await self._end_reconnect()
                finally:
                    await run_async(self._life.close(self._client))
        finally:
            _exits.block_left()


def remote_browser(
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    dialect: str | None = None,
    client: BrowserUse | None = None,
    playwright: Playwright | None = None,
    **options: Unpack[BrowserOptions],
) -> contextlib.AbstractContextManager[Page]:
    """``with remote_browser() as page:`` — a Playwright Page on a fresh remote browser.

    Takes the options of ``RemoteBrowser`` (checked here, at the call) but ``reconnect``: the
    one Page it yields would be dead after a reconnect. The browser is stopped on every way out.
    """
    _no_reconnect("remote_browser", options)
    handle = RemoteBrowser(
        base_url=base_url,
        api_key=api_key,
        dialect=dialect,
        client=client,
        playwright=playwright,
        **options,
    )
    return _page_of(handle)


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
    base_url: str | None = None,
    api_key: str | None = None,
    dialect: str | None = None,
    client: AsyncBrowserUse | None = None,
    playwright: AsyncPlaywright | None = None,
    **options: Unpack[BrowserOptions],
) -> contextlib.AbstractAsyncContextManager[AsyncPage]:
    """``async with async_remote_browser() as page:`` — the async twin of remote_browser()."""
    _no_reconnect("async_remote_browser", options)
    handle = AsyncRemoteBrowser(
        base_url=base_url,
        api_key=api_key,
        dialect=dialect,
        client=client,
        playwright=playwright,
        **options,
    )
    return _async_page_of(handle)


@contextlib.asynccontextmanager
async def _async_page_of(handle: AsyncRemoteBrowser) -> AsyncIterator[AsyncPage]:
    async with handle:
        yield handle.page
