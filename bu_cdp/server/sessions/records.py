"""The sessions table: each session as stored (task, status, steps, messages), and as the API
shows it. What runs sessions (``manager``) writes here; both API faces read from here."""

from __future__ import annotations

import builtins
import json
from collections.abc import Callable
from typing import Any

from bu_cdp.models import SessionStatus
from bu_cdp.server.shared.problems import ApiProblem, not_found
from bu_cdp.server.storage.store import Store, is_id, new_id, now, timestamp


def present(row: Any, base: str = "") -> dict[str, Any]:
    """A session as the API shows it; ``base`` makes this server's paths absolute."""
    live_url = row["live_url"]
    if live_url and live_url.startswith("/"):
        live_url = base + live_url
    answer = {
        "id": row["id"],
        "status": row["status"],
        "task": row["task"],
        "output": row["output"],
        "live_url": live_url,
        "recording_url": row["recording_url"],
        "steps": json.loads(row["steps"]),
        "created_at": row["created_at"],
        "stopped_at": row["stopped_at"],
    }
    return {key: value for key, value in answer.items() if value is not None}


class SessionRecords:
    """Sessions in the store: written as they run (or as given), read by id or as a list."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _insert(self, session_id: str, task: str, live_url: str | None, browser_id: str) -> None:
        self.store.execute(
            "INSERT INTO sessions (id, status, task, live_url, browser_id, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (session_id, SessionStatus.RUNNING, task, live_url, browser_id, timestamp(now())),
        )

    def _mark(self, session_id: str, status: SessionStatus, reason: str | None) -> None:
        self.store.execute(
            "UPDATE sessions SET status = ?, output = coalesce(?, output), stopped_at = ?"
            " WHERE id = ?",
            (status.value, reason, timestamp(now()), session_id),
        )

    def record(
        self,
        task: str,
        *,
        status: SessionStatus = SessionStatus.RUNNING,
        output: str | None = None,
        live_url: str | None = None,
        recording_url: str | None = None,
        browser_id: str | None = None,
        steps: builtins.list[dict[str, Any]] | None = None,
        messages: builtins.list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Store a session as it is given (imports, tests): no agent runs it."""
        session_id = new_id()
        self.store.execute(
            "INSERT INTO sessions (id, status, task, output, live_url, recording_url, browser_id,"
            " steps, messages, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                session_id,
                status.value,
                task,
                output,
                live_url,
                recording_url,
                browser_id,
                json.dumps(steps or []),
                json.dumps(messages or []),
                timestamp(now()),
            ),
        )
        return self.get(session_id)

    def list(
        self, limit: int | None, offset: int | None, base: str = ""
    ) -> builtins.list[dict[str, Any]]:
        rows = self.store.rows(
            "SELECT * FROM sessions ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
            (-1 if limit is None else limit, offset or 0),
        )
        return [present(row, base) for row in rows]

    def _row(self, session_id: str) -> Any:
        row = None
        if is_id(session_id):
            row = self.store.row("SELECT * FROM sessions WHERE id = ?", (session_id,))
        if row is None:
            raise not_found("Session", session_id)
        return row

    def get(self, session_id: str, base: str = "") -> dict[str, Any]:
        return present(self._row(session_id), base)

    def messages(self, session_id: str) -> builtins.list[dict[str, Any]]:
        messages: builtins.list[dict[str, Any]] = json.loads(self._row(session_id)["messages"])
        return messages

    def recording(
        self, session_id: str, browser_recording: Callable[[str], str | None]
    ) -> dict[str, Any]:
        """The session's recording: its own URL, else its browser's (``browser_recording``)."""
        row = self._row(session_id)
        url = row["recording_url"]
        if not url and row["browser_id"]:
            url = browser_recording(row["browser_id"])
        if not url:
            raise ApiProblem(
                404,
                f"Session {session_id!r} has no recording: create it with "
                "enable_recording=true; the video is ready once the session has stopped",
            )
        return {"recording_url": url}
