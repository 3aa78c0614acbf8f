"""A test's handle on a remote browser, and what the plugin does with it: the test's own
context and page, tracing, and the screenshot and trace a failure leaves behind.

The Playwright steps are procedures (``bu_cdp.effects``): one definition for sync and async.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bu_cdp.effects import Procedure, call
from conftest_plugin import artifacts
from conftest_plugin.options import Settings

if TYPE_CHECKING:
    from bu_cdp.remote import AsyncRemoteBrowser, RemoteBrowser

FORWARDED = frozenset({"id", "cdp_url", "live_url", "recording_url", "browser"})


class BrowserHandle:
    """One test's view of a remote browser: the browser's ``id``, ``cdp_url``, ``live_url``,
    ``recording_url`` and ``browser``, and the ``context`` and ``page`` this test uses.
    ``remote`` is the ``RemoteBrowser`` (or ``AsyncRemoteBrowser``) itself, ``options`` what it
    was asked for (never in the repr: it may hold an API key or a proxy password)."""

    id: str | None  # these five are the remote browser's (``__getattr__``)
    cdp_url: str | None
    live_url: str | None
    recording_url: str | None
    browser: Any

    def __init__(
        self,
        remote: RemoteBrowser | AsyncRemoteBrowser,
        options: dict[str, Any],
        folder: Path,
        index: int,
        reused: bool = False,
        loop: asyncio.AbstractEventLoop | None = None,
        context_args: dict[str, Any] | None = None,
    ) -> None:
        self.remote, self.options = remote, options
        self.context_args = context_args or {}  # new_context() keywords of the test's context
        self.folder = folder  # where this test's artifacts go
        self.index = index  # 0 for a test's first browser, 1 for its second...
        self.reused = reused  # the browser outlives the test: the context is the test's own
        self.loop = loop  # an async handle's event loop
        self.context: Any = None
        self.page: Any = None
        self.saved: list[tuple[str, str]] = []  # artifacts so far

    def __getattr__(self, name: str) -> Any:
        if name in FORWARDED:
            return getattr(self.remote, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __repr__(self) -> str:
        return f"BrowserHandle(id={self.id!r}, reused={self.reused})"

    @property
    def own_context(self) -> bool:
        """The test gets a context of its own (closed after it): on a browser that outlives
        the test, or for context options, which the browser's default context cannot take."""
        return self.reused or bool(self.context_args)

    def properties(self) -> list[tuple[str, str]]:
        """What goes into the test report's ``user_properties`` (and so into JUnit XML)."""
        found = [
            ("bu_browser_id", self.id),
            ("bu_live_url", self.live_url),
            ("bu_recording_url", self.recording_url),
        ]
        return [(name, value) for name, value in found if value] + self.saved


def begin(handle: BrowserHandle, tracing: str) -> Procedure[None]:
    """Give the test its context and page (a fresh context of its own when it needs one,
    sized like its screen unless its options say otherwise), and start tracing if asked."""
    if handle.own_context:
        kwargs = dict(handle.context_args)
        screen = handle.options.get("screen")
        if screen and not {"viewport", "no_viewport"} & kwargs.keys():
            kwargs["viewport"] = {"width": screen[0], "height": screen[1]}
        handle.context = yield from call(handle.browser.new_context, **kwargs)
        handle.page = yield from call(handle.context.new_page)
    else:
        handle.context, handle.page = handle.remote.context, handle.remote.page
    if tracing != "off":
        tracing_of = {"screenshots": True, "snapshots": True}
        yield from call(handle.context.tracing.start, **tracing_of)


def end(handle: BrowserHandle, settings: Settings, failed: bool) -> Procedure[list[str]]:
    """Save the trace if asked, close the test's own context; return what went wrong."""
    problems = []
    try:
        if settings.tracing == "on" or (failed and settings.tracing == "retain-on-failure"):
            path = artifacts.new_file(settings.output, handle.folder, "trace.zip", handle.index)
            yield from call(handle.context.tracing.stop, path=str(path))
            handle.saved.append(("bu_trace", str(path)))
        elif settings.tracing != "off":
            yield from call(handle.context.tracing.stop)
    except Exception as exc:
        problems.append(f"could not save the trace of browser {handle.id}: {exc}")
    if handle.own_context:
        try:
            yield from call(handle.context.close)
        except Exception as exc:
            problems.append(f"could not close the context on browser {handle.id}: {exc}")
    return problems


def screenshot(handle: BrowserHandle, output: Path) -> str | None:
    """Save a screenshot of the handle's page now; return a problem, if any."""
    try:
        path = artifacts.new_file(output, handle.folder, "screenshot.png", handle.index)
        taken = handle.page.screenshot(path=str(path), timeout=10_000)
        if handle.loop is not None:  # an async page: the call gave a coroutine
            handle.loop.run_until_complete(taken)
    except Exception as exc:
        return f"could not take a screenshot of browser {handle.id}: {exc}"
    handle.saved.append(("bu_screenshot", str(path)))
    return None
