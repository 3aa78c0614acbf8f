"""Agent sessions in the store.

An agent session needs a language model, which the local server does not have: creating one
answers 501 with a message that says where sessions are available. The other paths work on the
store, where an agent runner would record its sessions (``record``), so listing, reading,
stopping, messages and recordings answer as the spec says (404 for an unknown session).
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Callable
from typing import Any

from bu_cdp.models import TERMINAL_SESSION_STATUSES, SessionStatus
from bu_cdp.server.problems import ApiProblem, not_found
from bu_cdp.server.store import Store, is_id, new_id, now, timestamp

NO_AGENT_RUNNER = (
    "Agent sessions need the hosted Browser Use API or a configured agent runner, and this "
    "bu-cdp local server has no agent runner: set BROWSER_USE_API_KEY to run sessions on the "
    "hosted API, or create a raw browser here (POST /browsers) and drive it with Playwright."
)


def present(row: Any) -> dict[str, Any]:
    answer = {
        "id": row["id"],
        "status": row["status"],
        "task": row["task"],
        "output": row["output"],
        "live_url": row["live_url"],
        "recording_url": row["recording_url"],
        "steps": json.loads(row["steps"]),
        "created_at": row["created_at"],
        "stopped_at": row["stopped_at"],
    }
    return {key: value for key, value in answer.items() if value is not None}


class Sessions:
    def __init__(self, store: Store) -> None:
        self.store = store

    def create(self) -> dict[str, Any]:
        raise ApiProblem(501, NO_AGENT_RUNNER)

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
        """Store a session, as an agent runner does when it starts one.

        ``browser_id`` is the browser the session drives: created with ``enable_recording``,
        its recording is the session's recording.
        """
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

    def list(self, limit: int | None, offset: int | None) -> builtins.list[dict[str, Any]]:
        rows = self.store.rows(
            "SELECT * FROM sessions ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
            (-1 if limit is None else limit, offset or 0),
        )
        return [present(row) for row in rows]

    def _row(self, session_id: str) -> Any:
        row = None
        if is_id(session_id):
            row = self.store.row("SELECT * FROM sessions WHERE id = ?", (session_id,))
        if row is None:
            raise not_found("Session", session_id)
        return row

    def get(self, session_id: str) -> dict[str, Any]:
        return present(self._row(session_id))

    def stop(self, session_id: str) -> dict[str, Any]:
        """Without a runner nothing is executing: a session still open is simply closed."""
        row = self._row(session_id)
        if row["status"] not in TERMINAL_SESSION_STATUSES:
            self.store.execute(
                "UPDATE sessions SET status = ?, stopped_at = ? WHERE id = ?",
                (SessionStatus.STOPPED.value, timestamp(now()), session_id),
            )
        return self.get(session_id)

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
            raise ApiProblem(404, f"Session {session_id!r} has no recording")
        return {"recording_url": url}

    def delete(self, session_id: str) -> None:
        """Stop the session (as ``stop`` does), then forget it."""
        self.stop(session_id)
        self.store.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
