"""Agent sessions: a task in words, run by an agent on a browser of this server.

``SessionManager`` is what both API dialects call. Creating one asks the server's own browser
manager for a browser (so limits, queue, profiles, proxies, recording, live view and billing
apply), then runs the agent on it (``agent.run.AgentRun``) with the user's LLM
(``agent.llm``). Without an LLM, creating answers 501 saying how to configure one; the other
operations work on the store either way.

Statuses: ``running`` while the agent works; then ``idle`` (``keep_alive``: the browser
stays, and a create with this ``session_id`` gives it a follow-up task), ``stopped`` (done, or
stopped), ``error`` (``output`` says why) or ``timed_out`` (its browser's timeout). A session
ends when its browser does, however that browser ends.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import json
import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bu_cdp.models import TERMINAL_SESSION_STATUSES, BrowserStatus, SessionCreate, SessionStatus
from bu_cdp.server.browsers.hooks import BrowserHooks
from bu_cdp.server.browsers.manager import BrowserManager
from bu_cdp.server.browsers.record import ManagedBrowser
from bu_cdp.server.relay.endpoints import cdp_path
from bu_cdp.server.sessions.agent.llm import EXTRA, NO_AGENT, AgentLLM, agent_installed
from bu_cdp.server.sessions.agent.run import AgentOutcome, AgentRun, AgentTask
from bu_cdp.server.sessions.records import SessionRecords
from bu_cdp.server.shared.problems import ApiProblem, first_invalid
from bu_cdp.server.shared.schemas import BrowserCreateRequest
from bu_cdp.server.storage.store import Store, new_id, now, timestamp

log = logging.getLogger("bu_cdp.server")

STOP_WAIT = 10.0  # seconds a stop waits for the agent's thread to end
# How a browser's end, when the session did not ask for it, ends its session.
ENDED_BY_BROWSER = {
    BrowserStatus.TIMED_OUT: SessionStatus.TIMED_OUT,
    BrowserStatus.ERROR: SessionStatus.ERROR,
    BrowserStatus.STOPPED: SessionStatus.STOPPED,
}


@dataclass
class _Running:
    """A session this server runs: its browser, its agent of the moment, what it said."""

    browser: ManagedBrowser
    keep_alive: bool
    steps: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    run: AgentRun | None = None
    work_dir: Path | None = None
    ended: bool = False  # its end is decided (stop, browser gone): the agent's report is late


class SessionManager(SessionRecords, BrowserHooks):
    """Sessions that run: an agent on a browser of this server, from create to end."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.llm: AgentLLM | None = None
        self.manager: BrowserManager | None = None
        self.workspace_files: Callable[[str], Path] | None = None
        self._running: dict[str, _Running] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(
        self,
        manager: BrowserManager,
        llm: AgentLLM | None,
        workspace_files: Callable[[str], Path],
    ) -> None:
        """Give sessions their browsers, their LLM (None: no agent) and workspaces' files."""
        self.manager, self.llm, self.workspace_files = manager, llm, workspace_files

    @property
    def _library_dir(self) -> Path:
        """browser-use's settings folder: in the data folder, not the user's home."""
        return self.store.data_dir / "browser-use"

    # -- create ------------------------------------------------------------------------

    async def create(self, body: SessionCreate, base: str = "") -> dict[str, Any]:
        """Start the agent on ``body.task``: in a new browser, or an idle session's."""
        if self.llm is None or self.manager is None:
            raise ApiProblem(501, NO_AGENT)
        if not agent_installed():
            raise ApiProblem(501, f"The agent library is not installed here: pip install '{EXTRA}'")
        self._loop = asyncio.get_running_loop()
        if body.output_schema is not None:
            from bu_cdp.server.sessions.agent.output import output_model

            # 422 before a browser starts.
            await asyncio.to_thread(output_model, body.output_schema, self._library_dir)
        files = await asyncio.to_thread(self._files, body.workspace_id)
        if body.session_id is not None:
            session_id, running = await asyncio.to_thread(self._follow_up, body)
        else:
            browser = await self.manager.create(_browser_request(body))
            running = _Running(browser, bool(body.keep_alive), [], [])
            session_id = new_id()
            live_url = browser.links.get("live_url")
            await asyncio.to_thread(self._insert, session_id, body.task, live_url, browser.id)
            self._running[session_id] = running
        self._start(session_id, running, body, files)
        return self.get(session_id, base)

    def _files(self, workspace_id: str | None) -> builtins.list[str]:
        """The workspace's files, which the agent may read and upload (404 if unknown)."""
        if workspace_id is None or self.workspace_files is None:
            return []
        root = self.workspace_files(workspace_id)
        if not root.is_dir():
            return []
        return sorted(str(path) for path in root.rglob("*") if path.is_file())

    def _follow_up(self, body: SessionCreate) -> tuple[str, _Running]:
        assert body.session_id is not None
        row = self._row(body.session_id)
        running = self._running.get(row["id"])
        # Taken only if still idle: of two follow-ups at once, one gets it, the other a 409.
        taken = (
            running is not None
            and running.browser.active
            and self.store.execute(
                "UPDATE sessions SET status = ?, task = ?, output = NULL"
                " WHERE id = ? AND status = ?",
                (SessionStatus.RUNNING.value, body.task, row["id"], SessionStatus.IDLE.value),
            )
            == 1
        )
        if not taken or running is None:
            raise ApiProblem(
                409,
                f"Session {row['id']!r} is {row['status']}: a follow-up task needs an idle "
                "session of this server (created with keep_alive=true) whose browser still runs",
            )
        if body.keep_alive is not None:
            running.keep_alive = body.keep_alive
        return row["id"], running

    def _start(
        self, session_id: str, running: _Running, body: SessionCreate, files: builtins.list[str]
    ) -> None:
        assert self.llm is not None and running.browser.process is not None
        running.work_dir = Path(tempfile.mkdtemp(prefix="bu-cdp-agent-"))
        task = AgentTask(
            task=body.task,
            llm=self.llm.with_model(body.model),
            cdp_url=self._relay_url(running.browser),
            work_dir=running.work_dir,
            output_schema=body.output_schema,
            files=files,
            config_dir=self._library_dir,
        )
        self._say(session_id, running, "user", "task", body.task)
        running.run = AgentRun(
            task,
            on_step=lambda step: self._on_step(session_id, running, step),
            on_end=lambda outcome: self._on_end(session_id, running, outcome),
        )
        running.run.start()
        log.info("session %s: agent started on browser %s", session_id, running.browser.id)

    def _relay_url(self, browser: ManagedBrowser) -> str:
        """The agent's way in: the server's own relay on loopback, as any CDP client's (the
        Chromium has no DevTools port, only its pipe, which the relay shares out)."""
        assert self.manager is not None
        config = self.manager.config
        host = "127.0.0.1" if config.host in ("", "0.0.0.0") else config.host
        host = "[::1]" if host == "::" else f"[{host}]" if ":" in host else host
        return f"ws://{host}:{config.port}{cdp_path(browser)}"

    # -- what the agent reports, from its own thread -------------------------------------

    def _say(
        self, session_id: str, running: _Running, role: str, kind: str, content: str, **data: Any
    ) -> None:
        message = {
            "id": len(running.messages) + 1,
            "role": role,
            "type": kind,
            "content": content,
            **data,
            "created_at": timestamp(now()),
        }
        running.messages.append(message)
        self.store.execute(
            "UPDATE sessions SET messages = ? WHERE id = ?",
            (json.dumps(running.messages), session_id),
        )

    def _on_step(self, session_id: str, running: _Running, step: dict[str, Any]) -> None:
        running.steps.append(step)
        self.store.execute(
            "UPDATE sessions SET steps = ? WHERE id = ?", (json.dumps(running.steps), session_id)
        )
        self._say(session_id, running, "assistant", "step", step["next_goal"] or "", step=step)

    def _on_end(self, session_id: str, running: _Running, outcome: AgentOutcome) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        # RuntimeError: the server's loop has closed, and its shutdown ended the session.
        with contextlib.suppress(RuntimeError):
            asyncio.run_coroutine_threadsafe(self._finish(session_id, running, outcome), loop)

    async def _finish(self, session_id: str, running: _Running, outcome: AgentOutcome) -> None:
        """The agent's task ended on its own: idle, stopped or error, as its outcome says."""
        try:
            if running.ended:
                return
            if not (outcome.finished and running.keep_alive):
                # The browser first: a session shown stopped has its browser (and video) done.
                await self._close(session_id, running)
            if outcome.finished:
                status = SessionStatus.IDLE if running.keep_alive else SessionStatus.STOPPED
                await asyncio.to_thread(
                    self._end_task, session_id, running, status, outcome.output, "result"
                )
            else:
                log.info("session %s: %s", session_id, outcome.reason)
                error = SessionStatus.ERROR
                await asyncio.to_thread(
                    self._end_task, session_id, running, error, outcome.reason, "error"
                )
        finally:
            await asyncio.to_thread(_remove, running.work_dir)

    def _end_task(
        self,
        session_id: str,
        running: _Running,
        status: SessionStatus,
        output: str | None,
        kind: str,
    ) -> None:
        self._say(session_id, running, "assistant", kind, output or "")
        stopped_at = None if status == SessionStatus.IDLE else timestamp(now())
        self.store.execute(
            "UPDATE sessions SET status = ?, output = ?, stopped_at = ? WHERE id = ?",
            (status.value, output, stopped_at, session_id),
        )

    async def _close(self, session_id: str, running: _Running) -> None:
        """The session is over: its browser stops (and so it is billed no further)."""
        running.ended = True
        self._running.pop(session_id, None)
        if self.manager is not None and running.browser.active:
            await self.manager.stop(running.browser.id)

    # -- end ---------------------------------------------------------------------------

    async def stop(self, session_id: str, base: str = "") -> dict[str, Any]:
        """Stop the agent and its browser; a session already over is left as it is."""
        row = await asyncio.to_thread(self._row, session_id)
        running = self._running.get(row["id"])
        if running is not None:
            await self._end(row["id"], running, SessionStatus.STOPPED, None)
        elif row["status"] not in TERMINAL_SESSION_STATUSES:
            # Not run by this server (an earlier run's): nothing executes; close the record.
            await asyncio.to_thread(self._mark, row["id"], SessionStatus.STOPPED, None)
        return self.get(row["id"], base)

    async def _end(
        self, session_id: str, running: _Running, status: SessionStatus, reason: str | None
    ) -> None:
        """End a session from outside its agent: mark it, cancel the agent, stop the browser."""
        if running.ended:
            return
        running.ended = True
        if running.run is not None:
            running.run.stop()
        await self._close(session_id, running)
        if running.run is not None and not await asyncio.to_thread(running.run.join, STOP_WAIT):
            log.warning("session %s: the agent did not end within %ss", session_id, STOP_WAIT)
        # Marked last: a session shown ended has its agent and its browser (and video) done.
        await asyncio.to_thread(self._mark, session_id, status, reason)
        await asyncio.to_thread(_remove, running.work_dir)

    async def delete(self, session_id: str) -> None:
        """Stop the session (as ``stop`` does), then forget it."""
        await self.stop(session_id)
        await asyncio.to_thread(
            self.store.execute, "DELETE FROM sessions WHERE id = ?", (session_id,)
        )

    async def finished(self, browser: ManagedBrowser) -> None:
        """A session's browser ended without the session asking (timeout, crash, a stop)."""
        for session_id, running in list(self._running.items()):
            if running.browser is browser and not running.ended:
                status = ENDED_BY_BROWSER.get(browser.status, SessionStatus.STOPPED)
                reason = f"its browser ended: {browser.reason}" if browser.reason else None
                await self._end(session_id, running, status, reason)

    async def shutdown(self) -> None:
        """The server stops: every session it runs stops with it."""
        for session_id, running in list(self._running.items()):
            await self._end(session_id, running, SessionStatus.STOPPED, None)


def _browser_request(body: SessionCreate) -> BrowserCreateRequest:
    """The browser a session's agent drives, checked as ``POST /browsers`` checks one."""
    fields = {
        "profile_id": body.profile_id,
        "proxy_country_code": body.proxy_country_code,
        "enable_recording": body.enable_recording,
    }
    try:
        return BrowserCreateRequest.model_validate(
            {key: value for key, value in fields.items() if value is not None}
        )
    except ValidationError as exc:
        raise first_invalid(exc) from None


def _remove(folder: Path | None) -> None:
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
