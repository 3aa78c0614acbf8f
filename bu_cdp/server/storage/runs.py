"""This server process as the store knows it, and whether another server's run is over.

Several servers may share a data folder (embedded servers of parallel test workers, say), so
"that server is dead" is decided per run: each running server holds an exclusive lock on
``runs/<run id>.lock``, which the kernel releases when the process dies, however it dies.
Whatever a run leaves in the data folder (browser rows, partial uploads) is tidied by the next
server only once that run is over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os

from bu_cdp.server.shared.disk import try_lock
from bu_cdp.server.storage.store import Store, new_id, now, timestamp

log = logging.getLogger("bu_cdp.server")

HEARTBEAT_SECONDS = 15.0  # how stale "last seen" may be; it bounds the time a crash under-bills


class ServerRun:
    """This server process, as the store knows it while it runs."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.id = new_id()
        folder = store.folder("runs")
        folder.mkdir(exist_ok=True)
        self._lock_path = folder / f"{self.id}.lock"
        fd = try_lock(self._lock_path)
        assert fd is not None, "a fresh run id is never locked"
        self._lock_fd = fd
        moment = timestamp(now())
        store.execute(
            "INSERT INTO runs (id, pid, started_at, last_seen_at) VALUES (?, ?, ?, ?)",
            (self.id, os.getpid(), moment, moment),
        )

    def beat(self) -> None:
        self.store.execute(
            "UPDATE runs SET last_seen_at = ? WHERE id = ?", (timestamp(now()), self.id)
        )

    async def heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                await asyncio.to_thread(self.beat)
            except Exception:  # a busy or vanished database must not end the server
                log.exception("could not record that the server is alive")

    def close(self) -> None:
        """A clean end: every browser of this run is closed already."""
        with contextlib.suppress(Exception):
            self.store.execute("DELETE FROM runs WHERE id = ?", (self.id,))
        self._lock_path.unlink(missing_ok=True)
        os.close(self._lock_fd)


def run_is_over(store: Store, run_id: str) -> bool:
    """Whether the server of ``run_id`` has ended (cleanly or not); never true for a live one."""
    path = store.folder("runs", f"{run_id}.lock")
    if not path.exists():
        return True
    fd = try_lock(path)
    if fd is None:
        return False  # its server is alive
    path.unlink(missing_ok=True)
    os.close(fd)
    return True
