"""The core the sync and async fixtures share: a test's handle on a browser, and the pool.

A ``BrowserPool`` lives as long as the configured scope (a test, a module or the session). In
the ``function`` scope every request gets a fresh browser and the test uses its own context
and page; in the wider scopes a browser is reused by everyone asking for the same options,
and each test gets a fresh context on it (``lend``), closed after the test.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from bu_cdp._effects import Call, Procedure, run_async, run_sync
from conftest_plugin import artifacts
from conftest_plugin.options import Settings

if TYPE_CHECKING:
    from bu_cdp.remote import AsyncRemoteBrowser, RemoteBrowser

T = TypeVar("T")


@dataclass
class BrowserHandle:
    """One test's view of a remote browser: ``id``, ``cdp_url``, ``live_url``,
    ``recording_url``, ``browser``, and the ``context`` and ``page`` this test uses.
    ``remote`` is the ``RemoteBrowser`` (or ``AsyncRemoteBrowser``) itself."""

    remote: RemoteBrowser | AsyncRemoteBrowser
    options: dict[str, Any]
    folder: Path = field(repr=False)  # where this test's artifacts go
    index: int = field(repr=False)  # 0 for a test's first browser, 1 for its second...
    reused: bool = False  # the browser outlives the test: the context is the test's own
    loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)  # async handles
    context: Any = field(default=None, repr=False)
    page: Any = None
    saved: list[tuple[str, str]] = field(default_factory=list, repr=False)  # artifacts so far

    @property
    def id(self) -> str | None:
        return self.remote.id

    @property
    def cdp_url(self) -> str | None:
        return self.remote.cdp_url

    @property
    def live_url(self) -> str | None:
        return self.remote.live_url

    @property
    def recording_url(self) -> str | None:
        return self.remote.recording_url

    @property
    def browser(self) -> Any:
        return self.remote.browser

    def run(self, procedure: Procedure[T]) -> T:
        """Carry out a procedure from synchronous code (a pytest hook) on this handle."""
        if self.loop is None:
            return run_sync(procedure)
        return self.loop.run_until_complete(run_async(procedure))

    def properties(self) -> list[tuple[str, str]]:
        """What goes into the test report's ``user_properties`` (and so into JUnit XML)."""
        found = [
            ("bu_browser_id", self.id),
            ("bu_live_url", self.live_url),
            ("bu_recording_url", self.recording_url),
        ]
        return [(name, value) for name, value in found if value] + self.saved


# The Playwright steps are procedures (bu_cdp._effects): one definition for sync and async.


def begin(handle: BrowserHandle, settings: Settings) -> Procedure[None]:
    """Give the test its context and page (a fresh context on a reused browser, sized like
    its screen), and start tracing if asked."""
    if handle.reused:
        screen = handle.options.get("screen")
        size = {"viewport": {"width": screen[0], "height": screen[1]}} if screen else {}
        handle.context = yield Call(handle.browser, "new_context", kwargs=size)
        handle.page = yield Call(handle.context, "new_page")
    else:
        handle.context, handle.page = handle.remote.context, handle.remote.page
    if settings.tracing != "off":
        tracing = {"screenshots": True, "snapshots": True}
        yield Call(handle.context.tracing, "start", kwargs=tracing)


def end(handle: BrowserHandle, settings: Settings, failed: bool) -> Procedure[list[str]]:
    """Save the trace if asked, close the test's own context; return what went wrong."""
    problems = []
    try:
        if settings.tracing != "off":
            keep = settings.tracing == "on" or failed
            if not keep:
                yield Call(handle.context.tracing, "stop")
            else:
                path = artifacts.new_file(settings.output, handle.folder, "trace.zip", handle.index)
                yield Call(handle.context.tracing, "stop", kwargs={"path": str(path)})
                handle.saved.append(("bu_trace", str(path)))
    except Exception as exc:
        problems.append(f"could not save the trace of browser {handle.id}: {exc}")
    if handle.reused:
        try:
            yield Call(handle.context, "close")
        except Exception as exc:
            problems.append(f"could not close the context on browser {handle.id}: {exc}")
    return problems


def screenshot(handle: BrowserHandle, settings: Settings) -> str | None:
    """Save a screenshot of the handle's page now; return a problem, if any."""
    try:
        path = artifacts.new_file(settings.output, handle.folder, "screenshot.png", handle.index)
        handle.run(_screenshot(handle.page, path))
    except Exception as exc:
        return f"could not take a screenshot of browser {handle.id}: {exc}"
    handle.saved.append(("bu_screenshot", str(path)))
    return None


def _screenshot(page: Any, path: Path) -> Procedure[None]:
    yield Call(page, "screenshot", kwargs={"path": str(path), "timeout": 10_000})


class BrowserPool:
    """Remote browsers of one scope, reused by their options when ``reuse``; all stopped
    by ``close()``."""

    def __init__(self, open_browser: Callable[[dict[str, Any]], RemoteBrowser], reuse: bool):
        self._open = open_browser
        self.reuse = reuse
        self._by_options: dict[str, RemoteBrowser] = {}
        self._all: list[RemoteBrowser] = []

    def get(self, options: dict[str, Any]) -> RemoteBrowser:
        key = repr(sorted(options.items()))
        if self.reuse and key in self._by_options:
            return self._by_options[key]
        remote = self._open(options)
        self._all.append(remote)
        if self.reuse:
            self._by_options[key] = remote
        return remote

    def close(self) -> list[str]:
        """Stop every browser, even when one fails to stop; return the failures."""
        problems: list[str] = []
        interrupted: BaseException | None = None
        for remote in reversed(self._all):
            try:
                remote.__exit__(None, None, None)
            except Exception as exc:
                problems.append(f"could not stop remote browser {remote.id}: {exc}")
            except BaseException as exc:  # Ctrl-C: stop the others first, then go on with it
                interrupted = exc
        self._all.clear()
        self._by_options.clear()
        if interrupted is not None:
            raise interrupted
        return problems
