"""Every browser's row in the store: written when it is ready, closed when it ends.

The rows are the billing ledger, and they let ``GET /browsers/{id}`` answer for browsers of an
earlier run of the server. A server that dies without closing its rows (a crash, SIGKILL)
leaves them active; the next server on the same data folder closes them as stopped.

Several servers may share a data folder (embedded servers of parallel test workers, say), so
"the previous run is dead" is decided per run: each running server holds an exclusive lock on
``runs/<run id>.lock``, which the kernel releases when the process dies, however it dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from bu_cdp.server.billing import Pricing
from bu_cdp.server.browsers import BrowserHooks, ManagedBrowser
from bu_cdp.server.disk import try_lock
from bu_cdp.server.store import Store, is_id, new_id, now, parse_time, timestamp

log = logging.getLogger("bu_cdp.server")

HEARTBEAT_SECONDS = 15.0  # how stale "last seen" may be; it bounds the time a crash under-bills
RECOVERED_REASON = "the server stopped unexpectedly (crash or kill) while the browser ran"
WORKDIR_PREFIX = "bu-cdp-browser-"  # only folders named so are ever removed on recovery


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
                self.beat()
            except Exception:  # a busy or vanished database must not end the server
                log.exception("could not record that the server is alive")

    def close(self) -> None:
        """A clean end: every browser of this run is closed already."""
        with contextlib.suppress(Exception):
            self.store.execute("DELETE FROM runs WHERE id = ?", (self.id,))
        self._lock_path.unlink(missing_ok=True)
        os.close(self._lock_fd)


def _run_is_over(store: Store, run_id: str) -> bool:
    path = store.folder("runs", f"{run_id}.lock")
    if not path.exists():
        return True
    fd = try_lock(path)
    if fd is None:
        return False  # its server is alive
    path.unlink(missing_ok=True)
    os.close(fd)
    return True


class BrowserRecords(BrowserHooks):
    def __init__(self, store: Store, run: ServerRun, pricing: Pricing) -> None:
        self.store = store
        self.run = run
        self.pricing = pricing

    async def started(self, browser: ManagedBrowser) -> None:
        self.store.execute(
            "INSERT INTO browsers (id, run_id, status, created_at, started_at, timeout_minutes,"
            " width, height, profile_id, workdir) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                browser.id,
                self.run.id,
                browser.status.value,
                timestamp(browser.created_at),
                timestamp(now()),
                browser.timeout_minutes,
                browser.window[0],
                browser.window[1],
                browser.request.profile_id,
                str(browser.workdir),
            ),
        )

    async def finished(self, browser: ManagedBrowser) -> None:
        row = self.store.row("SELECT started_at FROM browsers WHERE id = ?", (browser.id,))
        if row is None:  # it never started: nothing to close, nothing billed
            return
        stopped = browser.stopped_at or now()
        self._close(browser.id, browser.status.value, stopped, browser.reason, row["started_at"])

    def _close(
        self, browser_id: str, status: str, stopped: datetime, reason: str | None, started: str
    ) -> None:
        minutes, cost = self.pricing.charge(parse_time(started), stopped)
        self.store.execute(
            "UPDATE browsers SET status = ?, stopped_at = ?, reason = ?, minutes = ?, cost = ?"
            " WHERE id = ?",
            (status, timestamp(stopped), reason, minutes, cost, browser_id),
        )

    def recover(self) -> list[str]:
        """Close the rows of servers that died with browsers running; the ids closed.

        Their Chromium died with them (parent-death signal); their work folders are removed.
        A browser is billed up to its server's last sign of life.
        """
        rows = self.store.rows(
            "SELECT b.id, b.run_id, b.started_at, b.workdir, r.last_seen_at FROM browsers b"
            " LEFT JOIN runs r ON r.id = b.run_id WHERE b.status = 'active' AND b.run_id != ?",
            (self.run.id,),
        )
        runs = {r["id"] for r in self.store.rows("SELECT id FROM runs")}
        runs |= {r["run_id"] for r in rows}
        runs.discard(self.run.id)
        over = {run_id for run_id in runs if _run_is_over(self.store, run_id)}
        closed = []
        for row in rows:
            if row["run_id"] not in over:
                continue
            started = parse_time(row["started_at"])
            last_seen = parse_time(row["last_seen_at"]) if row["last_seen_at"] else started
            self._close(
                row["id"], "stopped", max(started, last_seen), RECOVERED_REASON, row["started_at"]
            )
            workdir = Path(row["workdir"])
            if workdir.name.startswith(WORKDIR_PREFIX):
                shutil.rmtree(workdir, ignore_errors=True)
            closed.append(row["id"])
        for run_id in over:
            self.store.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        if closed:
            log.warning("closed %d browser(s) left active by a server that died", len(closed))
        return closed

    def earlier(self, browser_id: str) -> dict[str, Any] | None:
        """A browser this server no longer holds, as the API presents it, or None."""
        if not is_id(browser_id):
            return None
        row = self.store.row("SELECT * FROM browsers WHERE id = ?", (browser_id,))
        if row is None:
            return None
        answer = {
            "id": row["id"],
            "status": row["status"],
            "created_at": row["created_at"],
            "stopped_at": row["stopped_at"],
            "timeout": row["timeout_minutes"],
            "browserScreenWidth": row["width"],
            "browserScreenHeight": row["height"],
            "reason": row["reason"],
        }
        return {key: value for key, value in answer.items() if value is not None}
