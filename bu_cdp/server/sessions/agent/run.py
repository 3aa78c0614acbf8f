"""One agent task: ``browser-use`` on a browser of this server, in a thread of its own.

The agent runs in its own thread and event loop, so its work (page parsing, prompts) never
holds up the server's loop, which relays every browser's CDP traffic. It reaches the browser
through Chromium's internal DevTools socket; the server keeps owning that browser (limits,
recording, live view, billing) and ends it. ``stop()`` cancels the agent at once, wherever it
is (waiting for the LLM, or acting on the page); ``on_step`` and ``on_end`` report to the
session, from the agent's thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bu_cdp.server.sessions.agent import library
from bu_cdp.server.sessions.agent.llm import OPENAI_COMPATIBLE, AgentLLM
from bu_cdp.server.sessions.agent.output import OutputMismatch, checked_output, output_model

log = logging.getLogger("bu_cdp.server")

MAX_STEPS = 100
MAX_FAILURES = 3  # consecutive failed steps (an LLM that cannot be reached, or answers nonsense)
LLM_RETRIES = 1  # retries of one LLM request, on top of the agent's own retries of a step
CLOSE_TIMEOUT = 5.0  # seconds the agent may take to let go of the browser


@dataclass
class AgentTask:
    task: str
    llm: AgentLLM
    cdp_url: str  # the browser's DevTools websocket
    work_dir: Path  # the agent's own files (its notes, downloads); the session removes it
    output_schema: dict[str, Any] | None = None
    files: list[str] = field(default_factory=list)  # paths the agent may read and upload
    config_dir: Path | None = None  # browser-use's own settings folder (default: in work_dir)


@dataclass
class AgentOutcome:
    finished: bool  # the agent said it was done, successfully
    output: str | None = None  # its final answer (JSON text with an output_schema)
    reason: str | None = None  # why it did not finish


def chat_model(llm: AgentLLM) -> Any:
    """browser-use's chat model for the configured LLM."""
    if llm.provider == "anthropic":
        from browser_use.llm.anthropic.chat import ChatAnthropic

        return ChatAnthropic(model=llm.model, api_key=llm.api_key, max_retries=LLM_RETRIES)
    if llm.provider == "google":
        from browser_use.llm.google.chat import ChatGoogle

        return ChatGoogle(model=llm.model, api_key=llm.api_key)
    from browser_use.llm.openai.chat import ChatOpenAI

    # An OpenAI-compatible server without keys still needs a non-empty one in the client.
    key = llm.api_key or ("not-needed" if llm.provider == OPENAI_COMPATIBLE else None)
    return ChatOpenAI(model=llm.model, base_url=llm.base_url, api_key=key, max_retries=LLM_RETRIES)


class AgentRun:
    """``AgentRun(task, on_step, on_end).start()``; ``stop()`` from any thread."""

    def __init__(
        self,
        task: AgentTask,
        on_step: Callable[[dict[str, Any]], None],
        on_end: Callable[[AgentOutcome], None],
    ) -> None:
        self.task = task
        self._on_step = on_step
        self._on_end = on_end
        self._loop: asyncio.AbstractEventLoop | None = None
        self._running: asyncio.Task[AgentOutcome] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._main, name="bu-cdp-agent", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Cancel the agent wherever it is; its end is reported through ``on_end``."""
        with self._lock:
            self._stopping.set()
            if self._loop is not None and self._running is not None:
                self._loop.call_soon_threadsafe(self._running.cancel)

    def _forget_loop(self) -> None:
        with self._lock:  # a stop from now on has nothing to cancel
            self._loop = None

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _main(self) -> None:
        outcome = AgentOutcome(False, reason="the agent was stopped")
        try:
            with asyncio.Runner() as runner:
                with self._lock:
                    self._loop = runner.get_loop()
                    if not self._stopping.is_set():
                        self._running = self._loop.create_task(self._run())
                try:
                    if self._running is not None:
                        with contextlib.suppress(asyncio.CancelledError):
                            outcome = runner.run(self._wait(self._running))
                finally:
                    self._forget_loop()
        except Exception as exc:  # reported as the session's error, never lost
            log.exception("agent of %s failed", self.task.cdp_url.split("/devtools")[0])
            outcome = AgentOutcome(False, reason=f"the agent failed: {exc}")
        finally:
            if self._stopping.is_set():
                outcome = AgentOutcome(False, outcome.output, "stopped")
            self._on_end(outcome)

    @staticmethod
    async def _wait(running: asyncio.Task[AgentOutcome]) -> AgentOutcome:
        return await running

    async def _run(self) -> AgentOutcome:
        task = self.task
        config_dir = task.config_dir or task.work_dir / "browser-use"
        library.load(config_dir)
        from browser_use import Agent, BrowserSession

        model = None
        if task.output_schema is not None:
            model = output_model(task.output_schema, config_dir)
        # Given a cdp_url alone, the agent only connects: the server owns this Chromium, and
        # the agent's close() lets go of it without ending it.
        # Every folder it would make in the temp folder goes in the work folder instead.
        browser = BrowserSession(
            cdp_url=task.cdp_url,
            downloads_path=str(task.work_dir / "downloads"),
            user_data_dir=str(task.work_dir / "user-data"),  # unused: the browser is ours
        )
        agent: Any = Agent(
            task=task.task,
            llm=chat_model(task.llm),
            browser_session=browser,
            output_model_schema=model,
            available_file_paths=task.files,
            file_system_path=str(task.work_dir / "files"),
            register_new_step_callback=self._step,
            max_failures=MAX_FAILURES,
            final_response_after_failure=False,
            use_judge=False,
            use_vision="auto",
            enable_signal_handler=False,  # the server's signals are the server's
            calculate_cost=False,
        )
        try:
            history = await agent.run(max_steps=MAX_STEPS)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(agent.close()), CLOSE_TIMEOUT)
            # Its screenshots, in a folder of the temp folder it names itself.
            await asyncio.to_thread(shutil.rmtree, agent.agent_directory, True)
        return self._outcome(history, model)

    def _step(self, state: Any, output: Any, number: int) -> None:
        actions = [action.model_dump(exclude_none=True, mode="json") for action in output.action]
        self._on_step(
            {
                "number": number,
                "url": getattr(state, "url", None),
                "title": getattr(state, "title", None),
                "evaluation_previous_goal": output.evaluation_previous_goal,
                "memory": output.memory,
                "next_goal": output.next_goal,
                "actions": actions,
            }
        )

    def _outcome(self, history: Any, model: Any) -> AgentOutcome:
        answer = history.final_result()
        if history.is_done():
            if not history.is_successful():
                return AgentOutcome(False, answer, f"the agent could not do the task: {answer}")
            if model is None:
                return AgentOutcome(True, answer)
            try:
                return AgentOutcome(True, checked_output(model, answer))
            except OutputMismatch as exc:
                return AgentOutcome(False, answer, str(exc))
        return AgentOutcome(False, None, self._failure(history))

    def _failure(self, history: Any) -> str:
        """Why the agent stopped short; a model that failed it is named as the cause."""
        for item in reversed(history.history):
            errors = [result.error for result in item.result if result.error]
            if errors:
                if item.model_output is None:  # the step failed before any action: the LLM
                    return (
                        f"{self.task.llm.describe()} gave no usable answer "
                        f"({MAX_FAILURES} tries): {_one_line(errors[0])}"
                    )
                return f"the agent failed: {_one_line(errors[0])}"
        return f"the agent did not finish the task in {MAX_STEPS} steps"


def _one_line(text: str) -> str:
    """An error on one line (pydantic's span several, with a link to its docs)."""
    lines = [line.strip() for line in text.splitlines()]
    kept = [line for line in lines if line and not line.startswith("For further information")]
    return " ".join(kept)[:500]
