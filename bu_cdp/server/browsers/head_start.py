"""One plain Chromium started before the server has loaded, for the warm pool's first place.

The embedded server's process spends about half a second importing the server before it can
launch anything, and a test suite's first test waits for both. A Chromium started first boots
during those imports (it needs nothing of this process until it is asked a question), so the
pool's first browser is ready that much sooner. Used only where a warm pool will take it; one
the pool never takes is ended with the server (``discard``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from bu_cdp.server.chromium import launch as chromium
from bu_cdp.server.chromium import workdirs

log = logging.getLogger("bu_cdp.server")


@dataclass
class HeadStart:
    workdir: Path
    process: chromium.ChromiumProcess  # started, not yet known to answer


_waiting: HeadStart | None = None


async def begin(executable: str | None = None) -> HeadStart | None:
    """Start the plain Chromium now (``executable`` as ``ServerConfig.chromium``); a failure
    is only logged (None): the pool then launches as it would have."""
    global _waiting
    workdir = workdirs.create()
    try:
        found = chromium.find_chromium(executable)
        plan = chromium.plan_in(workdir, found, chromium.DEFAULT_WINDOW, workdirs.uid_of(workdir))
        _waiting = HeadStart(workdir, await chromium.start(plan))
        log.info(
            "started Chromium (pid %d) ahead of the server, for its pool", _waiting.process.pid
        )
    except Exception as exc:
        log.warning("could not start a Chromium ahead of the server: %s", exc)
        await asyncio.to_thread(workdirs.remove, workdir)
    return _waiting


async def take(timeout: float) -> HeadStart | None:
    """The Chromium started ahead, once it answers; None if there is none or it failed."""
    global _waiting
    early, _waiting = _waiting, None
    if early is None:
        return None
    try:
        await chromium.wait_ready(early.process, timeout)
    except chromium.LaunchError as exc:
        log.warning("the Chromium started ahead of the server did not come up: %s", exc)
        await asyncio.to_thread(workdirs.remove, early.workdir)
        return None
    except BaseException:
        await asyncio.to_thread(workdirs.remove, early.workdir)
        raise
    return early


async def discard() -> None:
    """End the Chromium started ahead if nothing took it: the server is going away."""
    global _waiting
    early, _waiting = _waiting, None
    if early is not None:
        await early.process.kill()
        await asyncio.to_thread(workdirs.remove, early.workdir)
