"""Who each Chromium runs as: a uid of its own when the server is root, sandbox on if it can.

A page can read with ``file://`` whatever its Chromium's user can read. Run as the server's
user, one browser could read another's cookies and the server's store. So a root server
starts every Chromium as a uid of its own, taken from a range that has no passwd entries
(nothing else on the machine runs as them, and no file belongs to them but what the browser
writes): its work folder is that uid's, mode 0700, so no other browser can enter it, and the
server's data folder (root's, 0700) is closed to all of them.

A uid is held with a lock file in ``LOCK_DIR`` (root's, 0700) for as long as its browser
lives; the kernel drops the lock when the server dies, however it dies, so every server on
the machine (each test's too) draws from one pool and no two live browsers share a uid.

Without root (or without ``setpriv``, or where the kernel refuses the uid) every Chromium
runs as the server's own user: ``status()`` says so, for ``bu-cdp serve`` and ``doctor``.
``BU_CDP_ISOLATION=off`` asks for that where one trusts every client and every page (a CI
container that is itself the boundary): as root it then runs without its sandbox, as
Playwright's own launch does. An isolated Chromium keeps one capability where the server has
it, CAP_SYS_NICE (``PRIORITY_SWITCHES``).
"""

from __future__ import annotations

import functools
import os
import random
import shutil
import stat
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from bu_cdp.errors import ConfigurationError
from bu_cdp.server.shared.disk import try_lock

# 2^31 - 2^24 and up: far above the ranges of system users (< 1000), people (< 60000)
# and the subordinate ranges given to containers (100000 + 65536 per user).
UID_BASE = 2_130_706_432
UID_COUNT = 65_536
LOCK_DIR = Path("/run/bu-cdp-uids")
ISOLATION_ENV = "BU_CDP_ISOLATION"


@dataclass(frozen=True)
class Status:
    """What isolation this server gives its browsers, in words for a person."""

    separate_users: bool
    sandbox: bool
    reason: str  # why not, when either is off

    def describe(self) -> str:
        if self.separate_users and self.sandbox:
            return "each Chromium runs as a uid of its own with its sandbox on"
        if self.separate_users:
            return f"each Chromium runs as a uid of its own, without its sandbox ({self.reason})"
        return f"browsers are NOT isolated from each other or from the server ({self.reason})"


@dataclass
class Lease:
    """One uid held for one browser; ``release`` gives it back."""

    uid: int
    _fd: int

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


_lock = threading.Lock()


def acquire() -> Lease | None:
    """A free uid for a new browser, or None where browsers run as the server's user."""
    if not status().separate_users:
        return None
    with _lock:  # one thread at a time in this process; flock excludes other processes
        start = random.randrange(UID_COUNT)  # spread servers over the range: fewer retries
        for step in range(UID_COUNT):
            uid = UID_BASE + (start + step) % UID_COUNT
            fd = try_lock(LOCK_DIR / str(uid))
            if fd is not None:
                return Lease(uid, fd)
    raise RuntimeError(f"every one of the {UID_COUNT} browser uids is in use")


def give(path: Path, uid: int) -> None:
    """Make ``path`` and everything under it ``uid``'s (a profile copied in by the server)."""
    os.chown(path, uid, uid, follow_symlinks=False)
    for folder, dirs, files in os.walk(path):
        for name in (*dirs, *files):
            os.chown(os.path.join(folder, name), uid, uid, follow_symlinks=False)


# The one capability a browser's uid keeps, where the server has it: CAP_SYS_NICE. Chromium
# raises its compositor and I/O threads to niceness -8 when it may, as a root Chromium
# (Playwright's own launch as root) does; without it every page of a browser on a uid of its
# own waits behind the test that drives it on a busy machine (BENCHMARKS.md). Its sandboxed
# renderers, where pages run, are in user namespaces of their own and do not hold it.
PRIORITY_SWITCHES = ("--inh-caps=+sys_nice", "--ambient-caps=+sys_nice")


def switch_prefix(uid: int) -> tuple[str, ...]:
    """setpriv's switches that make the process it becomes ``uid``, with no way back."""
    return ("--reuid", str(uid), "--regid", str(uid), "--clear-groups", "--no-new-privs")


def open_to_traverse(folder: Path) -> None:
    """Let browsers' uids pass through ``folder`` (the temp folder holding their work folders)
    to their own, without listing it: a private TMPDIR is often 0700."""
    mode = folder.stat().st_mode
    if not mode & stat.S_IXOTH:
        folder.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)


def others_can_run(executable: str) -> bool:
    """Whether a browser's uid can run ``executable`` (a script must be readable too): not
    so for a Chromium under root's home (Playwright's download in /root/.cache)."""
    path = Path(executable).resolve()
    try:
        if path.stat().st_mode & (stat.S_IROTH | stat.S_IXOTH) != (stat.S_IROTH | stat.S_IXOTH):
            return False
        return all(parent.stat().st_mode & stat.S_IXOTH for parent in path.parents)
    except OSError:
        return False


def close_to_others(folder: Path) -> None:
    """Make a server folder (data, recordings) unreadable to browsers' uids."""
    if status().separate_users:
        folder.chmod(0o700)


def wanted() -> bool:
    """``BU_CDP_ISOLATION``: ``on`` (the default) or ``off``; anything else is an error."""
    given = os.environ.get(ISOLATION_ENV, "").strip()
    if given.lower() in ("", "on"):
        return True
    if given.lower() == "off":
        return False
    raise ConfigurationError(f"{ISOLATION_ENV} must be on or off, not {given!r}")


@functools.cache
def status() -> Status:
    """Found once per process by trying (in a thread at server start, see BrowserManager)."""
    if not wanted():
        return Status(False, _sandbox_works(None), f"turned off by {ISOLATION_ENV}=off")
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return Status(False, _sandbox_works(None), "the server does not run as root")
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return Status(False, False, "setpriv (util-linux) is not installed")
    try:
        LOCK_DIR.mkdir(mode=0o700, exist_ok=True)
        LOCK_DIR.chmod(0o700)
    except OSError as exc:
        return Status(False, False, f"cannot make {LOCK_DIR}: {exc.strerror}")
    closed = _closed_ancestor(Path(tempfile.gettempdir()))
    if closed is not None:
        return Status(False, False, f"{closed}, above the temp folder, is closed to other users")
    probe = UID_BASE + UID_COUNT - 1
    if not _runs([setpriv, *switch_prefix(probe), "--", "true"]):
        return Status(False, False, f"the kernel refuses uid {probe} (a user namespace?)")
    sandbox = _sandbox_works(probe)
    reason = "" if sandbox else "unprivileged user namespaces are off, and no setuid helper"
    return Status(True, sandbox, reason)


def _closed_ancestor(folder: Path) -> Path | None:
    """A folder above ``folder`` that other users cannot pass through (browsers could not
    reach their work folders in it), or None."""
    for parent in folder.resolve().parents:
        if not parent.stat().st_mode & stat.S_IXOTH:
            return parent
    return None


def _sandbox_works(uid: int | None) -> bool:
    """Chromium's Linux sandbox needs user namespaces for a non-root user (Debian ships no
    setuid chrome-sandbox); ask the kernel for one as that user."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    if uid is None:
        return os.geteuid() != 0 and _runs([unshare, "--user", "true"])
    setpriv = shutil.which("setpriv")
    return setpriv is not None and _runs(
        [setpriv, *switch_prefix(uid), "--", unshare, "--user", "true"]
    )


def _runs(argv: list[str]) -> bool:
    try:
        done = subprocess.run(argv, capture_output=True, timeout=10, check=False, env={})
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0
