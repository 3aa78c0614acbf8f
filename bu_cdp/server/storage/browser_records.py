"""Every browser's row in the store: written when it is ready, closed when it ends.

The rows are the billing ledger, and they let ``GET /browsers/{id}`` answer for browsers of an
earlier run of the server (with their recording, if one was made). A server that dies without
closing its rows (a crash, SIGKILL) leaves them active; the next server on the same data folder
closes them as stopped, once it knows that server's run is over (``runs.run_is_over``).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from bu_cdp.server.browsers.hooks import BrowserHooks
from bu_cdp.server.browsers.record import ManagedBrowser
from bu_cdp.server.chromium import workdirs
from bu_cdp.server.recording.videos import RecordingStore
from bu_cdp.server.storage.billing import Pricing
from bu_cdp.server.storage.runs import ServerRun, run_is_over
from bu_cdp.server.storage.store import Store, is_id, now, parse_time, timestamp

log = logging.getLogger("bu_cdp.server")

RECOVERED_REASON = "the server stopped unexpectedly (crash or kill) while the browser ran"


class BrowserRecords(BrowserHooks):
    """Writes each browser's row when it is ready and closes it, billed, when it ends.

    Its ``started`` must run after every other hook's: a browser whose start failed in a later
    hook (a recording that could not start, say) is never billed.
    """

    def __init__(
        self, store: Store, run: ServerRun, pricing: Pricing, recordings: RecordingStore
    ) -> None:
        self.store = store
        self.run = run
        self.pricing = pricing
        self.recordings = recordings

    async def started(self, browser: ManagedBrowser) -> None:
        await asyncio.to_thread(self._insert, browser, now())

    def _insert(self, browser: ManagedBrowser, ready: datetime) -> None:
        self.store.execute(
            "INSERT INTO browsers (id, run_id, status, created_at, started_at, timeout_minutes,"
            " width, height, profile_id, workdir) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                browser.id,
                self.run.id,
                browser.status.value,
                timestamp(browser.created_at),
                timestamp(ready),
                browser.timeout_minutes,
                browser.window[0],
                browser.window[1],
                browser.request.profile_id,
                str(browser.workdir),
            ),
        )

    async def finished(self, browser: ManagedBrowser) -> None:
        stopped = browser.stopped_at or now()
        await asyncio.to_thread(self._finish, browser, stopped)

    def _finish(self, browser: ManagedBrowser, stopped: datetime) -> None:
        row = self.store.row("SELECT started_at FROM browsers WHERE id = ?", (browser.id,))
        if row is None:  # it never started: nothing to close, nothing billed
            return
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
        over = {run_id for run_id in runs if run_is_over(self.store, run_id)}
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
            if workdir.name.startswith(workdirs.PREFIX):  # never remove a folder not ours
                workdirs.remove(workdir)
            closed.append(row["id"])
        for run_id in over:
            self.store.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        if closed:
            log.warning(
                "this bu-cdp server (data folder %s) closed %d browser(s) left active there by "
                "an earlier bu-cdp server that died",
                self.store.data_dir,
                len(closed),
            )
        return closed

    def earlier(self, browser_id: str, base_url: str) -> dict[str, Any] | None:
        """A browser this server no longer holds, as the API presents it, or None.

        ``base_url`` is where clients reach this server: its recording, if one was made and
        finished, is served from there (``recording_url``), whichever run made it.
        """
        if not is_id(browser_id):
            return None
        row = self.store.row("SELECT * FROM browsers WHERE id = ?", (browser_id,))
        if row is None:
            return None
        recording = self.recordings.url_path(browser_id)
        answer = {
            "id": row["id"],
            "status": row["status"],
            "recording_url": base_url + recording if recording else None,
            "created_at": row["created_at"],
            "stopped_at": row["stopped_at"],
            "timeout": row["timeout_minutes"],
            "browserScreenWidth": row["width"],
            "browserScreenHeight": row["height"],
            "reason": row["reason"],
        }
        return {key: value for key, value in answer.items() if value is not None}
