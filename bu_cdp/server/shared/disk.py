"""Small disk tools the store's folders share: durable writes and locks the kernel releases."""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path


def try_lock(path: Path) -> int | None:
    """A descriptor holding an exclusive lock on ``path``, or None while another holds it.

    ``flock`` locks belong to the open file, so two opens in one process exclude each other
    too, and the kernel drops the lock when the holder dies, however it dies.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def fsync_dir(path: Path) -> None:
    """Make the names in a folder (a rename, a new file) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """Flush every regular file and folder under ``root`` to disk."""
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                continue
            with contextlib.suppress(OSError):  # a socket or a file that went away
                fd = os.open(path, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        fsync_dir(Path(folder))
