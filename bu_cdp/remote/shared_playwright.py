"""The thread's sync Playwright, shared by the ``RemoteBrowser`` blocks (and the plugin's
session) that run in it: sync Playwright allows only one per thread."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Playwright


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


def thread_has_playwright() -> bool:
    """Whether this thread runs a sync Playwright of bu-cdp's now."""
    return getattr(_local, "playwright", None) is not None


def refuse_a_running_loop(caller: str) -> None:
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
