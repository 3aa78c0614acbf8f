"""The processes a test (or a benchmark) started, read from /proc (Linux).

One scan reads every process once: Chromium starts and ends helper processes all the time,
and one that has gone by the time it is read has nothing left to show. Zombies (ended, not
yet reaped) hold nothing and are left out, as are processes that end while being read.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

MARKER = "bu-cdp-browser-"  # in the --user-data-dir of every Chromium the server starts


@dataclass(frozen=True)
class Process:
    pid: int
    ppid: int  # its parent
    pgid: int  # its process group: a browser's Chromium processes share one
    cmdline: bytes  # its arguments, NUL-separated as /proc gives them
    environ: bytes  # its environment, only when the scan asked for it (else b"")
    cpu_seconds: float  # user + system CPU time so far
    niceness: int = 0  # its main thread's

    @property
    def command(self) -> str:
        return self.cmdline.replace(b"\0", b" ").decode(errors="replace")


def read(pid: int, *, environ: bool = False) -> Process | None:
    """One process, or None when it is gone or a zombie."""
    entry = Path(f"/proc/{pid}")
    try:
        fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        if fields[0] == "Z":
            return None
        cmdline = (entry / "cmdline").read_bytes()
        env = (entry / "environ").read_bytes() if environ else b""
    except (OSError, IndexError):  # it ended while being read
        return None
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return Process(pid, int(fields[1]), int(fields[2]), cmdline, env, cpu, int(fields[16]))


def scan(*, environ: bool = False) -> list[Process]:
    """Every live process of the machine, each read in one go."""
    found = (
        read(int(entry.name), environ=environ)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit()
    )
    return [process for process in found if process is not None]


def threads_niceness(pgid: int) -> dict[int, int]:
    """The niceness of every thread (by its id) of every process of the group ``pgid``."""
    found = {}
    for process in group_of(pgid):
        for task in Path(f"/proc/{process.pid}/task").glob("*/stat"):
            with contextlib.suppress(OSError, IndexError):  # the thread ended meanwhile
                found[int(task.parent.name)] = int(task.read_text().rsplit(")", 1)[1].split()[16])
    return found


def with_marker(marker: str) -> list[Process]:
    """Processes whose command line contains ``marker`` (this process itself excepted)."""
    return [p for p in scan() if marker in p.command and p.pid != os.getpid()]


def children_of(pid: int, marker: str = "") -> list[Process]:
    """The direct children of ``pid`` whose command line contains ``marker``."""
    return [p for p in scan() if p.ppid == pid and marker in p.command]


def group_of(pgid: int, *, environ: bool = False) -> list[Process]:
    """Every process of one process group (a browser's Chromium and its helpers)."""
    return [p for p in scan(environ=environ) if p.pgid == pgid]


def live_chromiums(marker: str = MARKER) -> list[int]:
    """Pids of the running Chromium processes whose command line contains ``marker``."""
    return [p.pid for p in with_marker(marker)]
