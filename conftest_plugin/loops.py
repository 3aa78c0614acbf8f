"""Sync Playwright and pytest-asyncio in one run.

Between its calls, sync Playwright leaves its own event loop marked as the thread's running
loop; pytest-asyncio then refuses to run a test's loop ("cannot be called from a running event
loop"). The plugin hides that mark while an asyncio test runs, and puts it back for sync
Playwright work that happens meanwhile (a reused browser or Playwright itself being stopped).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

_sync_loop: asyncio.AbstractEventLoop | None = None


def remember_sync_loop() -> None:
    """Call right after starting sync Playwright: its loop is the one marked running now."""
    global _sync_loop
    _sync_loop = asyncio._get_running_loop()


@contextlib.contextmanager
def _marked(loop: asyncio.AbstractEventLoop | None) -> Iterator[None]:
    before = asyncio._get_running_loop()
    asyncio._set_running_loop(loop)
    try:
        yield
    finally:
        asyncio._set_running_loop(before if before is None or not before.is_closed() else None)


def asyncio_allowed() -> contextlib.AbstractContextManager[None]:
    """No running loop in this thread while the block runs (for pytest-asyncio)."""
    return _marked(None)


def sync_playwright_allowed() -> contextlib.AbstractContextManager[None]:
    """Sync Playwright's loop marked running, as it expects, while the block runs."""
    current = asyncio._get_running_loop()
    if current is not None or _sync_loop is None or _sync_loop.is_closed():
        return contextlib.nullcontext()
    return _marked(_sync_loop)


def wake_sync_loop() -> None:
    """After SIGTERM landed in a sync Playwright wait: ``bu_cdp._exits`` raised it in the main
    greenlet and left Playwright's loop in ``select()``, blind to calls queued meanwhile until
    its next I/O. The cleanup's calls must not wait for that: wake the loop up."""
    if _sync_loop is not None and not _sync_loop.is_closed():
        _sync_loop.call_soon_threadsafe(lambda: None)
