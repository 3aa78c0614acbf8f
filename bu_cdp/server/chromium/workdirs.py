"""Browsers' work folders: made with an owner mark, swept when their server died.

Each browser gets a fresh ``bu-cdp-browser-*`` folder in the temp directory, holding its
Chromium profile and log; the server removes it when the browser ends. A server killed with
SIGKILL cannot, so every folder carries an ``owner`` file naming the server process (pid and
start time, so a recycled pid is not mistaken for it) and a server starting up removes the
folders whose owner is gone, killing any Chromium still running from them.

Where the server is root, each folder belongs to the uid its Chromium runs as (mode 0700, see
``isolation``): Chromium's temporary files (``tmp/``, its TMPDIR) and home (``home/``) are in
it too, so nothing of a browser outlives its folder.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from bu_cdp.server.chromium import isolation
from bu_cdp.server.chromium import launch as chromium

log = logging.getLogger("bu_cdp.server")

PREFIX = "bu-cdp-browser-"
OWNER_FILE = "owner"
# World-writable folders a browser's uid could leave files in: swept at the end.
SHARED_TMP = ("/tmp", "/var/tmp", "/dev/shm")

_leases: dict[Path, isolation.Lease] = {}


def create() -> Path:
    """A new work folder (mode 0700), its uid's where browsers get one of their own."""
    workdir = Path(tempfile.mkdtemp(prefix=PREFIX))
    try:
        (workdir / OWNER_FILE).write_text(_owner(os.getpid()))
        lease = isolation.acquire()
        if lease is not None:
            _leases[workdir] = lease
            isolation.open_to_traverse(workdir.parent)
            isolation.give(workdir, lease.uid)
    except BaseException:
        remove(workdir)
        raise
    return workdir


def uid_of(workdir: Path) -> int | None:
    """The uid this folder's Chromium runs as, or None: the server's own."""
    lease = _leases.get(workdir)
    return lease.uid if lease is not None else None


@functools.cache
def _owner(pid: int) -> str:
    """The owner mark of this server's folders: read once per process (keyed by pid: a fork)."""
    return _identity(pid) or str(pid)


def remove(workdir: Path) -> None:
    """Remove the folder; give back its uid once nothing runs or stays behind as it."""
    shutil.rmtree(workdir, ignore_errors=True)
    shutil.rmtree(chromium.tmp_dir_of(workdir), ignore_errors=True)  # if it was outside
    lease = _leases.pop(workdir, None)
    if lease is not None:
        try:
            _end_everything_of(lease.uid)
        finally:
            lease.release()


def _end_everything_of(uid: int) -> None:
    """Kill every process still running as ``uid`` (a stray child of its Chromium) and
    remove what it left in the world-writable folders, before another browser gets ``uid``."""
    setpriv = shutil.which("setpriv")
    if setpriv is not None:  # kill(-1) as that uid reaches exactly that uid's processes
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(
                [setpriv, *isolation.switch_prefix(uid), "--", "kill", "-9", "-1"],
                capture_output=True,
                timeout=10,
                check=False,
                env={"PATH": "/usr/bin:/bin"},
            )
    for folder in SHARED_TMP:
        with contextlib.suppress(OSError):
            for entry in os.scandir(folder):
                with contextlib.suppress(OSError):
                    if entry.stat(follow_symlinks=False).st_uid != uid:
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(entry.path, ignore_errors=True)
                    else:
                        os.unlink(entry.path)


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
