"""The one implementation of a remote browser's life, for both faces (``bu_cdp.remote.faces``).

``_BrowserLife``'s procedures (``bu_cdp.effects``) do everything once: find the profile,
create or look up the browser, connect Playwright over its ``cdp_url`` (bounded, retried while
the browser comes up), find the page, reconnect once if asked, and on the way out disconnect,
stop (or leave running, when asked) and wait for the recording. They are typed against either
face's objects, so mypy checks every method they call on both.

Nothing here logs or raises an API key, a CDP address or a token: only browser ids, hosts and
live-view URLs.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import urlsplit

from bu_cdp import _exits
from bu_cdp.effects import Pause, Procedure, call
from bu_cdp.errors import BrowserConnectError, BuCdpError, NotFoundError
from bu_cdp.models import Browser, BrowserStatus
from bu_cdp.options import BrowserPlan
from bu_cdp.profile_lookup import create_fields

if TYPE_CHECKING:
    from playwright.async_api import Browser as AsyncPwBrowser
    from playwright.async_api import BrowserContext as AsyncContext
    from playwright.async_api import BrowserType as AsyncBrowserType
    from playwright.async_api import Page as AsyncPage
    from playwright.sync_api import Browser as PwBrowser
    from playwright.sync_api import BrowserContext, BrowserType, Page, ViewportSize

    from bu_cdp.client import AsyncBrowserUse, BrowserUse
    from bu_cdp.settings import Target

    # Either face's objects: one procedure serves both.
    AnyClient: TypeAlias = BrowserUse | AsyncBrowserUse
    AnyBrowserType: TypeAlias = BrowserType | AsyncBrowserType
    AnyBrowser: TypeAlias = PwBrowser | AsyncPwBrowser
    AnyContext: TypeAlias = BrowserContext | AsyncContext
    AnyPage: TypeAlias = Page | AsyncPage
    OnDisconnected: TypeAlias = Callable[[Any], None]

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
        self.browser: AnyBrowser | None = None
        self.context: AnyContext | None = None
        self.page: AnyPage | None = None
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
        client: AnyClient | None,
        browser_type: AnyBrowserType,
        on_disconnected: OnDisconnected | None = None,
    ) -> Procedure[None]:
        self.target = client.target if client is not None else None
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

    def _create(self, client: AnyClient | None) -> Procedure[None]:
        assert client is not None  # only attaching by CDP address goes without
        fields = yield from create_fields(client, self.plan)
        started = time.monotonic()
        self.record = yield from call(client.browsers.create, **fields)
        self.created = True
        if self.target is not None and self.id:
            _exits.created(self.target, self.id)
        log.info("created browser %s in %.2fs", self.id, time.monotonic() - started)
        live = self.record.live_url
        if live and (self.plan.enable_recording or self.plan.keep_alive):
            # Asked for so a person can watch; the only address ever logged (it opens the
            # live view, so it is not written for browsers nobody asked to watch).
            log.info("watch browser %s live at %s", self.id, live)

    def _find(self, client: AnyClient | None) -> Procedure[None]:
        """Attach: look up a browser that already runs."""
        assert self.attach_to is not None
        if _is_cdp_address(self.attach_to):
            self.record = Browser(cdp_url=self.attach_to, status=BrowserStatus.ACTIVE)
            return
        assert client is not None  # only attaching by CDP address goes without
        self.record = yield from call(client.browsers.get, self.attach_to)
        if _ended(self.record):
            raise BrowserConnectError(
                f"browser {self.attach_to} is {self.record.status}: there is nothing to attach to"
            )
        if self.stop_attached and self.target is not None and self.id:
            _exits.track(self.target.base_url, self.target.api_key, self.id, self.target.dialect)

    def _connect(
        self,
        client: AnyClient | None,
        browser_type: AnyBrowserType,
        on_disconnected: OnDisconnected | None,
    ) -> Procedure[None]:
        """Connect within ``connect_timeout``, retrying while a new browser is coming up."""
        assert self.record is not None
        url = self.record.cdp_url
        name = f"browser {self.id}" if self.id else "the browser"
        if not url:
            raise BrowserConnectError(f"{name} has no cdp_url to connect to")
        # Looked up before the retry loop: a mistake in the name is no reason to retry.
        connect = browser_type.connect_over_cdp
        bound = self.plan.connect_timeout
        started = time.monotonic()
        deadline = started + bound
        delay = 0.2
        while True:
            left = deadline - time.monotonic()
            try:
                self.browser = yield from call(connect, url, timeout=max(left, 0.1) * 1000)
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
                    now = yield from call(client.browsers.get, self.id, request_timeout=left)
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
        browser = self.browser
        assert browser is not None  # connected
        contexts = browser.contexts
        context = contexts[0] if contexts else (yield from call(browser.new_context))
        pages = context.pages
        page = pages[0] if pages else (yield from call(context.new_page))
        self.context, self.page = context, page
        if self.plan.screen is not None:
            # The server sizes the window; where a window frame eats into it, the page's
            # viewport is set so the page still sees exactly the size asked for.
            width, height = self.plan.screen
            size: ViewportSize = {"width": width, "height": height}
            seen = yield from call(page.evaluate, "[innerWidth, innerHeight]")
            if tuple(seen) != self.plan.screen:
                log.debug("viewport %s is not the screen %s: setting it", seen, self.plan.screen)
                yield from call(page.set_viewport_size, size)
            # New tabs and popups open at Chromium's default window size: give them the screen.
            context.on("page", _viewport_setter(size))

    # -- while it runs ---------------------------------------------------------------------

    def disconnected(self) -> bool:
        """Note a dropped CDP socket; True when a reconnect should follow."""
        if self.closing:
            return False
        self.dropped = True
        log.warning("CDP connection to browser %s dropped", self.id or "(attached)")
        return self.wants_reconnect

    def reconnect(self, client: AnyClient | None, browser_type: AnyBrowserType) -> Procedure[bool]:
        """Reconnect once after a drop, if the browser is still active; refresh the objects."""
        if not self.wants_reconnect:
            return False
        self.reconnects_left -= 1
        if client is not None and self.id:
            now = yield from call(client.browsers.get, self.id)
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

    def close(self, client: AnyClient | None, *, failed: bool = False) -> Procedure[None]:
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
                yield from call(browser.close)
            except Exception as exc:
                log.debug("disconnect from browser %s failed: %s", self.id, type(exc).__name__)

    def _stop(self, client: AnyClient | None) -> Procedure[None]:
        assert self.record is not None and self.record.id
        assert client is not None  # it owns the browser: it came through the API
        browser_id = self.record.id
        if self.record.status != BrowserStatus.STOPPED:
            started = time.monotonic()
            try:
                self.record = yield from call(client.browsers.stop, browser_id)
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

    def _await_recording(self, client: AnyClient) -> Procedure[None]:
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
                now = yield from call(client.browsers.get, self.record.id)
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


def _viewport_setter(size: ViewportSize) -> Callable[[Any], Any]:
    # Any: the two Playwrights type a listener's return apart (None; None or an awaitable).
    """A "page" listener giving each new tab the screen's viewport. A popup may close before
    it is sized: that is no error (and must not become an unhandled one in the listener)."""

    def on_page(page: AnyPage) -> Awaitable[None] | None:
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
