"""Browsers' work folders: made with an owner mark, swept when their server died.

Each browser gets a fresh ``bu-cdp-browser-*`` folder in the temp directory, holding its
Chromium profile and log; the server removes it when the browser ends. A server killed with
SIGKILL cannot, so every folder carries an ``owner`` file naming the server process (pid and
start time, so a recycled pid is not mistaken for it) and a server starting up removes the
folders whose owner is gone, killing any Chromium still running from them.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import shutil
import tempfile
from pathlib import Path

from bu_cdp.server import chromium

log = logging.getLogger("bu_cdp.server")

PREFIX = "bu-cdp-browser-"
OWNER_FILE = "owner"


def create() -> Path:
    workdir = Path(tempfile.mkdtemp(prefix=PREFIX))
    (workdir / OWNER_FILE).write_text(_owner(os.getpid()))
    return workdir


@functools.cache
def _owner(pid: int) -> str:
    """The owner mark of this server's folders: read once per process (keyed by pid: a fork)."""
    return _identity(pid) or str(pid)


def remove(workdir: Path) -> None:
    shutil.rmtree(workdir, ignore_errors=True)


def sweep_stale(root: Path | None = None) -> list[Path]:
    """Remove the work folders of servers that are no longer running; return them."""
    removed = []
    for workdir in (root or Path(tempfile.gettempdir())).glob(PREFIX + "*"):
        try:
            owner = (workdir / OWNER_FILE).read_text().strip()
        except OSError:
            continue  # not ours to judge: no owner mark (or just being made)
        if _owner_alive(owner):
            continue
        _kill_processes_using(workdir)
        remove(workdir)
        removed.append(workdir)
    if removed:
        log.info("removed %d work folder(s) left by a server that died", len(removed))
    return removed


def _identity(pid: int) -> str | None:
    """``"pid starttime"`` on Linux, where /proc knows when a process started."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    start_time = stat.rsplit(")", 1)[1].split()[19]
    return f"{pid} {start_time}"


def _owner_alive(owner: str) -> bool:
    try:
        pid = int(owner.split()[0])
    except (ValueError, IndexError):
        return False
    if " " in owner and Path("/proc").is_dir():
        return _identity(pid) == owner
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill_processes_using(workdir: Path) -> None:
    """Kill the process groups of Chromiums whose command line names this folder."""
    proc = Path("/proc")
    if not proc.is_dir():
        return
    marker = (str(workdir) + os.sep).encode()  # the profile inside, not a longer name
    own_group = os.getpgrp()
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if marker not in (entry / "cmdline").read_bytes():
                continue
            group = os.getpgid(int(entry.name))
            if group != own_group:
                chromium.kill_group(group)
