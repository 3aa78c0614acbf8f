"""Agent sessions: the v3 operations, and the helpers users reach for (``run``, ``stream``,
``iter``), each written once as a flow for both clients (see ``_resources.py``)."""

from __future__ import annotations

import builtins
import json
import logging
import time
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from bu_cdp import errors, models
from bu_cdp.client._base import (
    CREATE_TIMEOUT,
    D,
    Resource,
    _summarize,
    build_body,
    emitting,
    endpoint,
)
from bu_cdp.client._flow import Flow
from bu_cdp.effects import Emit, Pause

log = logging.getLogger("bu_cdp")

Out = TypeVar("Out")  # what sessions.run() parses an output into

DEFAULT_RUN_TIMEOUT = 600.0  # seconds sessions.run() waits before it gives up


def session_finished(session: models.Session, seen_running: bool) -> bool:
    """Whether an agent session is done with its task.

    A stopped, failed or timed-out session is done. So is an ``idle`` one that has worked (was
    seen running, or has an output): with ``keep_alive=True`` the hosted API leaves a session
    idle after its task instead of stopping it.
    """
    status = None if session.status is None else str(session.status)
    if status in models.TERMINAL_SESSION_STATUSES:
        return True
    return status == models.SessionStatus.IDLE and (seen_running or session.output is not None)


def _schema_of(output_schema: Any) -> dict[str, Any]:
    """The JSON schema the API is sent for ``output_schema`` (a type, or a schema already)."""
    if isinstance(output_schema, dict):
        return output_schema
    try:
        schema: dict[str, Any] = TypeAdapter(output_schema).json_schema()
    except Exception as exc:
        raise TypeError(
            f"sessions.run(): output_schema must be a pydantic model (or a type pydantic can "
            f"describe, or a JSON schema dict), got {output_schema!r}: {exc}"
        ) from None
    return schema


def parse_output(session: models.Session, output_schema: Any) -> Any:
    """The session's output as ``output_schema`` describes it; SessionOutputError if it won't."""
    output = session.output
    if output_schema is None:
        return output
    name = getattr(output_schema, "__name__", "the output schema")
    if output is None:
        raise errors.SessionOutputError(
            f"session {session.id} ended ({session.status}) without an output to read as {name}",
            session=session,
        )
    try:
        if isinstance(output_schema, dict):
            return json.loads(output) if isinstance(output, str) else output
        adapter: TypeAdapter[Any] = TypeAdapter(output_schema)
        if isinstance(output, str) and output_schema is not str:
            return adapter.validate_json(output)
        return adapter.validate_python(output)
    except (ValidationError, ValueError) as exc:
        detail = _summarize(exc) if isinstance(exc, ValidationError) else str(exc)
        raise errors.SessionOutputError(
            f"session {session.id}: its output does not fit {name}: {detail} "
            f"(output: {str(output)[:200]!r})",
            session=session,
        ) from None


def _message_key(message: models.Message, position: int) -> Any:
    extra = message.model_extra or {}
    return extra.get("id", position)


class Sessions(Resource[D]):
    @endpoint
    def create(
        self, /, task: str, *, request_timeout: float | None = None, **fields: Any
    ) -> Flow[models.Session]:
        return (yield from self._create({"task": task, **fields}, request_timeout))

    def _create(
        self, fields: dict[str, Any], request_timeout: float | None
    ) -> Flow[models.Session]:
        # A session starts a browser for its agent: it waits as long as a browser's create.
        return (
            yield from self._fetch(
                models.Session,
                "sessions.create",
                fields=fields,
                timeout=request_timeout,
                at_least=CREATE_TIMEOUT,
            )
        )

    @endpoint
    def list(
        self,
        *,
        limit: int | None = None,
        offset: int | None = None,
        request_timeout: float | None = None,
    ) -> Flow[builtins.list[models.Session]]:
        """Sessions: ``offset`` skipped, at most ``limit`` (hosted: every page, as needed)."""
        return (
            yield from self._collect(
                models.Session,
                "sessions.list",
                limit=limit,
                offset=offset,
                timeout=request_timeout,
            )
        )

    @endpoint
    def get(self, session_id: str, *, request_timeout: float | None = None) -> Flow[models.Session]:
        return (yield from self._get(session_id, request_timeout))

    def _get(self, session_id: str, request_timeout: float | None) -> Flow[models.Session]:
        ids = {"session_id": session_id}
        return (
            yield from self._fetch(models.Session, "sessions.get", ids, timeout=request_timeout)
        )

    @endpoint
    def stop(
        self,
        session_id: str,
        *,
        strategy: str | None = None,
        request_timeout: float | None = None,
    ) -> Flow[dict[str, Any]]:
        """Stop a session; hosted: ``strategy="task"`` stops only its task (it goes idle),
        ``"session"`` (the API's default) the whole session."""
        return dict((yield from self._stop(session_id, strategy, request_timeout)))

    def _stop(
        self, session_id: str, strategy: str | None, request_timeout: float | None
    ) -> Flow[Any]:
        return (
            yield from self._send(
                "sessions.stop",
                {"session_id": session_id},
                fields={"strategy": strategy},
                timeout=request_timeout,
            )
        )

    @endpoint
    def delete(self, session_id: str, *, request_timeout: float | None = None) -> Flow[None]:
        """Delete a session (hosted)."""
        ids = {"session_id": session_id}
        yield from self._send("sessions.delete", ids, timeout=request_timeout)

    @endpoint
    def messages(
        self, session_id: str, *, request_timeout: float | None = None
    ) -> Flow[builtins.list[models.Message]]:
        return (yield from self._messages(session_id, request_timeout))

    def _messages(
        self, session_id: str, request_timeout: float | None
    ) -> Flow[builtins.list[models.Message]]:
        ids = {"session_id": session_id}
        return (
            yield from self._collect(
                models.Message, "sessions.messages", ids, timeout=request_timeout
            )
        )

    @endpoint
    def recording(
        self, session_id: str, *, request_timeout: float | None = None
    ) -> Flow[models.Recording]:
        """The session's recording (hosted: read from the session's ``recordingUrls``)."""
        ids = {"session_id": session_id}
        return (
            yield from self._fetch(
                models.Recording, "sessions.recording", ids, timeout=request_timeout
            )
        )

    # -- helpers users reach for -----------------------------------------------------------

    @endpoint
    def run(
        self,
        /,
        task: str,
        *,
        output_schema: type[Out] | dict[str, Any] | None = None,
        timeout: float | None = DEFAULT_RUN_TIMEOUT,
        poll_interval: float = 1.0,
        max_poll_interval: float = 10.0,
        request_timeout: float | None = None,
        **fields: Any,
    ) -> Flow[Out | Any]:
        """Run ``task`` in a new agent session, wait for it to finish, return its output.

        ``output_schema`` (a pydantic model, or any type pydantic can describe, or a JSON schema
        dict) is sent as the session's output schema, and the output is returned parsed into
        it; without it the raw output comes back. Waiting polls with backoff from
        ``poll_interval`` up to ``max_poll_interval`` seconds. Other keywords are the create
        fields (``model``, ``keep_alive``, ``profile_id``, ``workspace_id``, ...).

        Raises ``SessionFailedError`` (status error or timed_out), ``SessionOutputError``
        (output that does not fit the schema) and ``SessionTimeoutError`` after ``timeout``
        seconds (None: wait as long as it takes). If it gives up waiting, for any reason,
        it stops the session so it does not go on billing.
        """
        if poll_interval <= 0 or max_poll_interval < poll_interval:
            raise ValueError("need 0 < poll_interval <= max_poll_interval")
        if output_schema is not None:
            fields["output_schema"] = _schema_of(output_schema)
        body = self._route("sessions.create").body
        if body is not None:  # checked here, so a mistake is named after run()
            build_body(body, "sessions.run", {"task": task, **fields})
        started = time.monotonic()
        session = yield from self._create({"task": task, **fields}, request_timeout)
        if not session.id:
            raise errors.SessionError("sessions.run(): the API created a session without an id")
        session_id = session.id
        # The live URL lets whoever has it watch: DEBUG only (docs/remote-browser.md, Logging).
        log.info("session %s started", session_id)
        log.debug("session %s live at %s", session_id, session.live_url)
        seen_running = session.status == models.SessionStatus.RUNNING
        delay = poll_interval
        try:
            while not session_finished(session, seen_running):
                waited = time.monotonic() - started
                if timeout is not None and waited >= timeout:
                    raise errors.SessionTimeoutError(
                        f"session {session.id} still {session.status} after {timeout:g}s; "
                        "stopped it",
                        session=session,
                    )
                pause = delay if timeout is None else min(delay, timeout - waited)
                yield Pause(pause)
                delay = min(delay * 1.5, max_poll_interval)
                session = yield from self._get(session_id, request_timeout)
                seen_running = seen_running or session.status == models.SessionStatus.RUNNING
        except BaseException as exc:
            if isinstance(exc, GeneratorExit):
                raise
            yield from self._stop_quietly(session_id, request_timeout)
            raise
        log.info(
            "session %s %s after %.1fs", session.id, session.status, time.monotonic() - started
        )
        if session.status in (models.SessionStatus.ERROR, models.SessionStatus.TIMED_OUT):
            said = f": {str(session.output)[:200]}" if session.output else ""
            raise errors.SessionFailedError(
                f"session {session.id} ended with status {session.status}{said}",
                session=session,
            )
        return parse_output(session, output_schema)

    def _stop_quietly(self, session_id: str, request_timeout: float | None) -> Flow[None]:
        try:
            yield from self._stop(session_id, None, request_timeout)
        except errors.BuCdpError as exc:
            log.warning("could not stop session %s: %s", session_id, exc)

    @emitting(models.Message)
    def stream(
        self,
        session_id: str,
        *,
        poll_interval: float = 1.0,
        max_poll_interval: float = 5.0,
        request_timeout: float | None = None,
    ) -> Flow[None]:
        """Yield the session's messages as they come, until the session is done.

        Polls with backoff while nothing new arrives (``poll_interval`` up to
        ``max_poll_interval`` seconds); messages already there are yielded first.
        """
        seen: set[Any] = set()
        seen_running = False
        delay = poll_interval
        while True:
            # Status first, messages second: once the status says done, the messages read
            # after it hold everything the session said.
            session = yield from self._get(session_id, request_timeout)
            seen_running = seen_running or session.status == models.SessionStatus.RUNNING
            messages = yield from self._messages(session_id, request_timeout)
            fresh = False
            for position, message in enumerate(messages):
                key = _message_key(message, position)
                if key not in seen:
                    seen.add(key)
                    fresh = True
                    yield Emit(message)
            if session_finished(session, seen_running):
                return
            delay = poll_interval if fresh else min(delay * 1.5, max_poll_interval)
            yield Pause(delay)

    @emitting(models.Session)
    def iter(self, *, page_size: int = 50, request_timeout: float | None = None) -> Flow[None]:
        """Every session, page by page as the dialect pages them, as one iterator."""
        yield from self._walk(
            models.Session, "sessions.list", page_size=page_size, timeout=request_timeout
        )
