"""How much CPU a Chromium gets beside the others: the pool's launches yield it, browsers in
use take it back, and Chromium's own raised threads keep what it gave them.

Chromium raises its compositor and I/O threads to niceness -8 where it may (CAP_SYS_NICE: a
root Chromium, or one on a uid of its own that keeps the capability, see ``isolation``). A
pool's refill runs while tests run, so it starts lowered (``POOL_NICENESS``); handed out,
only what is still lowered comes back to 0, never what Chromium raised.
"""

from __future__ import annotations

import contextlib
import functools
import os
from pathlib import Path

POOL_NICENESS = 10
_CAP_SYS_NICE = 23


@functools.cache
def can_raise_priority() -> bool:
    """Whether this process may raise a priority it lowered (CAP_SYS_NICE): without it a
    lowered Chromium would stay slow once in use, so none is lowered."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return False
    for line in status.splitlines():
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) & (1 << _CAP_SYS_NICE))
    return False


def lower(pid: int, niceness: int = POOL_NICENESS) -> bool:
    """Lower a Chromium just started (its process group: what it starts inherits it)."""
    try:
        os.setpriority(os.PRIO_PGRP, pid, niceness)
    except OSError:
        return False
    return True


def restore(pgid: int, lowered: int = POOL_NICENESS) -> None:
    """Niceness 0 for every thread of the process group ``pgid`` still at ``lowered``.

    Thread by thread (``setpriority`` on a group would also undo Chromium's raised
    threads); reads /proc, so call it off the event loop."""
    for pid in _group(pgid):
        for tid in _listing(f"/proc/{pid}/task"):
            stat = _stat_fields(f"/proc/{pid}/task/{tid}/stat")
            if stat is not None and int(stat[16]) == lowered:
                with contextlib.suppress(OSError):  # ended meanwhile
                    os.setpriority(os.PRIO_PROCESS, int(tid), 0)


def _group(pgid: int) -> list[int]:
    pids = []
    for name in _listing("/proc"):
        if name.isdigit():
            stat = _stat_fields(f"/proc/{name}/stat")
            if stat is not None and int(stat[2]) == pgid:
                pids.append(int(name))
    return pids


def _listing(folder: str) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError:
        return []


def _stat_fields(path: str) -> list[str] | None:
    """The fields after the command name (which may hold spaces and parentheses)."""
    try:
        with open(path) as stat:
            return stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
