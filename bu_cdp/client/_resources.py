"""One definition per operation of the v3 API, shared by ``BrowserUse`` and ``AsyncBrowserUse``.

Each method is written once as a flow (see ``_flow.py``). The ``endpoint`` descriptor turns
it into a plain method on a sync client and a coroutine method on an async one, and keeps
both precisely typed.
"""

from __future__ import annotations

import builtins
import functools
import json
import logging
import mimetypes
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Any, Concatenate, Generic, ParamSpec, TypeVar, overload
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from bu_cdp import errors, models
from bu_cdp._effects import Emit, Pause, iterate_async, iterate_sync, run_async, run_sync
from bu_cdp.client._flow import ApiRequest, Flow, Upload, send
from bu_cdp.client._io import AsyncIO, SyncIO

P = ParamSpec("P")
T = TypeVar("T")
Out = TypeVar("Out")  # what sessions.run() parses an output into
M = TypeVar("M", bound=BaseModel)
R = TypeVar("R", bound="models.RequestModel")
D = TypeVar("D", SyncIO, AsyncIO)

FileInput = str | os.PathLike[str] | bytes | IO[bytes]


class Resource(Generic[D]):
    def __init__(self, io: D) -> None:
        self._io: D = io

    def _fetch(
        self,
        model: type[M],
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        timeout: float | None = None,
        idempotent: bool = False,
    ) -> Flow[M]:
        request = ApiRequest(
            method, path, params=params, json=json, timeout=timeout, idempotent=idempotent
        )
        response = yield from send(self._io, request)
        return model.model_validate(_json_or_empty(response))

    def _fetch_list(
        self,
        model: type[M],
        path: str,
        *,
        params: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Flow[builtins.list[M]]:
        request = ApiRequest("GET", path, params=params, timeout=timeout)
        response = yield from send(self._io, request)
        return [model.model_validate(item) for item in response.json()]

    def _delete(self, path: str, *, timeout: float | None = None) -> Flow[None]:
        yield from send(self._io, ApiRequest("DELETE", path, timeout=timeout))


class endpoint(Generic[P, T]):
    """A flow-returning method that becomes sync or async with the client it lives on."""

    def __init__(self, flow: Callable[Concatenate[Any, P], Flow[T]]) -> None:
        self._flow = flow
        functools.update_wrapper(self, flow)  # type: ignore[arg-type]

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> endpoint[P, T]: ...
    @overload
    def __get__(self, obj: Resource[SyncIO], owner: type[Any]) -> Callable[P, T]: ...
    @overload
    def __get__(self, obj: Resource[AsyncIO], owner: type[Any]) -> Callable[P, Awaitable[T]]: ...
    def __get__(self, obj: Resource[Any] | None, owner: type[Any]) -> Any:
        if obj is None:
            return self
        flow = self._flow
        run = run_async if isinstance(obj._io, AsyncIO) else run_sync

        @functools.wraps(flow)
        def call(*args: Any, **kwargs: Any) -> Any:
            return run(flow(obj, *args, **kwargs))

        return call


class iterator_endpoint(Generic[P, T]):
    """A flow that yields items: an Iterator on a sync client, an AsyncIterator on an async one."""

    def __init__(self, flow: Callable[Concatenate[Any, P], Flow[None]]) -> None:
        self._flow = flow
        functools.update_wrapper(self, flow)  # type: ignore[arg-type]

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> iterator_endpoint[P, T]: ...
    @overload
    def __get__(self, obj: Resource[SyncIO], owner: type[Any]) -> Callable[P, Iterator[T]]: ...
    @overload
    def __get__(
        self, obj: Resource[AsyncIO], owner: type[Any]
    ) -> Callable[P, AsyncIterator[T]]: ...
    def __get__(self, obj: Resource[Any] | None, owner: type[Any]) -> Any:
        if obj is None:
            return self
        flow = self._flow
        iterate = iterate_async if isinstance(obj._io, AsyncIO) else iterate_sync

        @functools.wraps(flow)
        def call(*args: Any, **kwargs: Any) -> Any:
            return iterate(flow(obj, *args, **kwargs))

        return call


def emitting(
    item: type[T],
) -> Callable[[Callable[Concatenate[Any, P], Flow[None]]], iterator_endpoint[P, T]]:
    """``@emitting(models.Session)``: an ``iterator_endpoint`` whose items are ``item``."""

    def wrap(flow: Callable[Concatenate[Any, P], Flow[None]]) -> iterator_endpoint[P, T]:
        return iterator_endpoint(flow)

    return wrap


def build_body(model: type[R], operation: str, fields: dict[str, Any]) -> R:
    """Validate keyword fields into a request model; an unknown keyword is a TypeError."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        unknown = [str(e["loc"][0]) for e in exc.errors() if e["type"] == "extra_forbidden"]
        if unknown:
            raise TypeError(
                f"{operation}() got unexpected keyword argument(s): {', '.join(unknown)}"
            ) from None
        raise ValueError(f"{operation}(): {_summarize(exc)}") from None


def _summarize(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors()
    )


def _segment(value: str, what: str) -> str:
    """One path segment, escaped, so an id can never change the path it is put in."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    return quote(value, safe="")


def _file_path(path: str) -> str:
    """A workspace path in a URL, each segment escaped, so it reaches the server as given.

    ``.`` and ``..`` segments are escaped too: a URL library would resolve them away, and the
    server is the one to refuse them, naming the problem.
    """
    if not isinstance(path, str) or not path:
        raise ValueError(f"path must be a non-empty string, got {path!r}")
    segments = [quote(part, safe="") for part in path.split("/")]
    return "/".join(s.replace(".", "%2E") if s in (".", "..") else s for s in segments)


def _json_or_empty(response: httpx.Response) -> Any:
    return response.json() if response.content else {}


log = logging.getLogger("bu_cdp")

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
        body = build_body(models.SessionCreate, "sessions.create", {"task": task, **fields})
        return (
            yield from self._fetch(
                models.Session, "POST", "/sessions", json=body.to_body(), timeout=request_timeout
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
        params = {"limit": limit, "offset": offset}
        return (
            yield from self._fetch_list(
                models.Session, "/sessions", params=params, timeout=request_timeout
            )
        )

    @endpoint
    def get(self, session_id: str, *, request_timeout: float | None = None) -> Flow[models.Session]:
        path = f"/sessions/{_segment(session_id, 'session_id')}"
        return (yield from self._fetch(models.Session, "GET", path, timeout=request_timeout))

    @endpoint
    def stop(
        self, session_id: str, *, request_timeout: float | None = None
    ) -> Flow[dict[str, Any]]:
        path = f"/sessions/{_segment(session_id, 'session_id')}/stop"
        request = ApiRequest("POST", path, timeout=request_timeout, idempotent=True)
        response = yield from send(self._io, request)
        return dict(_json_or_empty(response))

    @endpoint
    def messages(
        self, session_id: str, *, request_timeout: float | None = None
    ) -> Flow[builtins.list[models.Message]]:
        path = f"/sessions/{_segment(session_id, 'session_id')}/messages"
        return (yield from self._fetch_list(models.Message, path, timeout=request_timeout))

    @endpoint
    def recording(
        self, session_id: str, *, request_timeout: float | None = None
    ) -> Flow[models.Recording]:
        path = f"/sessions/{_segment(session_id, 'session_id')}/recording"
        return (yield from self._fetch(models.Recording, "POST", path, timeout=request_timeout))

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
        body = build_body(models.SessionCreate, "sessions.run", {"task": task, **fields})
        started = time.monotonic()
        session = yield from self._fetch(
            models.Session, "POST", "/sessions", json=body.to_body(), timeout=request_timeout
        )
        if not session.id:
            raise errors.SessionError("sessions.run(): the API created a session without an id")
        session_id = session.id
        log.info("session %s started; live at %s", session_id, session.live_url)
        path = f"/sessions/{_segment(session_id, 'session_id')}"
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
                session = yield from self._fetch(
                    models.Session, "GET", path, timeout=request_timeout
                )
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
        path = f"/sessions/{_segment(session_id, 'session_id')}/stop"
        try:
            yield from send(
                self._io, ApiRequest("POST", path, timeout=request_timeout, idempotent=True)
            )
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
        path = f"/sessions/{_segment(session_id, 'session_id')}"
        seen: set[Any] = set()
        seen_running = False
        delay = poll_interval
        while True:
            # Status first, messages second: once the status says done, the messages read
            # after it hold everything the session said.
            session = yield from self._fetch(models.Session, "GET", path, timeout=request_timeout)
            seen_running = seen_running or session.status == models.SessionStatus.RUNNING
            messages = yield from self._fetch_list(
                models.Message, path + "/messages", timeout=request_timeout
            )
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
        """Every session, page by page (``limit``/``offset``), as one iterator."""
        if page_size < 1:
            raise ValueError(f"page_size must be at least 1, got {page_size}")
        offset = 0
        first_of_last_page: Any = object()
        while True:
            page = yield from self._fetch_list(
                models.Session,
                "/sessions",
                params={"limit": page_size, "offset": offset},
                timeout=request_timeout,
            )
            # A server that ignores the paging would repeat itself forever: stop instead.
            if not page or (page[0].id is not None and page[0].id == first_of_last_page):
                return
            first_of_last_page = page[0].id
            for session in page:
                yield Emit(session)
            if len(page) != page_size:
                return
            offset += len(page)


class Browsers(Resource[D]):
    @endpoint
    def create(
        self, /, *, request_timeout: float | None = None, **fields: Any
    ) -> Flow[models.Browser]:
        """Create a raw CDP browser.

        Fields are the spec's (``proxy_country_code``, ``custom_proxy``, ``profile_id``,
        ``enable_recording``, ``timeout`` in minutes, ``browserScreenWidth``,
        ``browserScreenHeight``); the screen fields may also be given in snake_case.
        """
        body = build_body(models.BrowserCreate, "browsers.create", fields)
        return (
            yield from self._fetch(
                models.Browser, "POST", "/browsers", json=body.to_body(), timeout=request_timeout
            )
        )

    @endpoint
    def get(self, browser_id: str, *, request_timeout: float | None = None) -> Flow[models.Browser]:
        path = f"/browsers/{_segment(browser_id, 'browser_id')}"
        return (yield from self._fetch(models.Browser, "GET", path, timeout=request_timeout))

    @endpoint
    def stop(
        self, browser_id: str, *, request_timeout: float | None = None
    ) -> Flow[models.Browser]:
        path = f"/browsers/{_segment(browser_id, 'browser_id')}/stop"
        return (
            yield from self._fetch(
                models.Browser, "POST", path, timeout=request_timeout, idempotent=True
            )
        )


class Workspaces(Resource[D]):
    @endpoint
    def create(self, name: str, *, request_timeout: float | None = None) -> Flow[models.Workspace]:
        body = build_body(models.NameBody, "workspaces.create", {"name": name}).to_body()
        return (
            yield from self._fetch(
                models.Workspace, "POST", "/workspaces", json=body, timeout=request_timeout
            )
        )

    @endpoint
    def list(
        self, *, request_timeout: float | None = None
    ) -> Flow[builtins.list[models.Workspace]]:
        return (
            yield from self._fetch_list(models.Workspace, "/workspaces", timeout=request_timeout)
        )

    @endpoint
    def get(
        self, workspace_id: str, *, request_timeout: float | None = None
    ) -> Flow[models.Workspace]:
        path = f"/workspaces/{_segment(workspace_id, 'workspace_id')}"
        return (yield from self._fetch(models.Workspace, "GET", path, timeout=request_timeout))

    @endpoint
    def update(
        self, workspace_id: str, *, name: str, request_timeout: float | None = None
    ) -> Flow[models.Workspace]:
        path = f"/workspaces/{_segment(workspace_id, 'workspace_id')}"
        body = build_body(models.NameBody, "workspaces.update", {"name": name}).to_body()
        return (
            yield from self._fetch(
                models.Workspace, "PUT", path, json=body, timeout=request_timeout
            )
        )

    @endpoint
    def delete(self, workspace_id: str, *, request_timeout: float | None = None) -> Flow[None]:
        path = f"/workspaces/{_segment(workspace_id, 'workspace_id')}"
        yield from self._delete(path, timeout=request_timeout)

    @endpoint
    def upload(
        self,
        workspace_id: str,
        file: FileInput,
        *,
        prefix: str | None = None,
        filename: str | None = None,
        request_timeout: float | None = None,
    ) -> Flow[dict[str, Any]]:
        """Upload one file, streamed: a path, bytes, or a binary file object.

        ``filename`` names it in the workspace (default: the path's or file object's name);
        ``prefix`` is the folder it goes in.
        """
        path = f"/workspaces/{_segment(workspace_id, 'workspace_id')}/upload"
        stream, name, owned = _open_upload(file, filename)
        try:
            content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
            upload = Upload("file", name, stream, content_type, start=stream.tell())
            request = ApiRequest(
                "POST", path, params={"prefix": prefix}, upload=upload, timeout=request_timeout
            )
            response = yield from send(self._io, request)
            return dict(_json_or_empty(response))
        finally:
            if owned:
                stream.close()

    @endpoint
    def files(
        self,
        workspace_id: str,
        *,
        prefix: str | None = None,
        request_timeout: float | None = None,
    ) -> Flow[builtins.list[models.WorkspaceFile]]:
        path = f"/workspaces/{_segment(workspace_id, 'workspace_id')}/files"
        return (
            yield from self._fetch_list(
                models.WorkspaceFile, path, params={"prefix": prefix}, timeout=request_timeout
            )
        )

    @endpoint
    def size(
        self, workspace_id: str, *, request_timeout: float | None = None
    ) -> Flow[models.WorkspaceSize]:
        path = f"/workspaces/{_segment(workspace_id, 'workspace_id')}/size"
        return (yield from self._fetch(models.WorkspaceSize, "GET", path, timeout=request_timeout))

    @endpoint
    def download(
        self,
        workspace_id: str,
        path: str,
        dest: str | os.PathLike[str],
        *,
        on_progress: Callable[[int], None] | None = None,
        request_timeout: float | None = None,
    ) -> Flow[Path]:
        """Download one file of a workspace to ``dest``, streamed; the path written.

        ``path`` is the file's path in the workspace (``docs/report.pdf``). If ``dest`` is an
        existing folder, or ends with a slash, the file keeps its name inside it. ``dest``
        appears only once the whole file has arrived. ``on_progress`` is told the bytes
        received so far as they come. An extension of the v3 spec, served by the bu-cdp
        local server.
        """
        target = Path(dest)
        if target.is_dir() or os.fspath(dest).endswith(("/", os.sep)):
            target = target / PurePosixPath(path).name  # into the folder, under its own name
        url = f"/workspaces/{_segment(workspace_id, 'workspace_id')}/files/{_file_path(path)}"
        request = ApiRequest(
            "GET", url, timeout=request_timeout, download_to=target, on_progress=on_progress
        )
        yield from send(self._io, request)
        return target


def _open_upload(file: FileInput, filename: str | None) -> tuple[IO[bytes], str, bool]:
    """A readable binary stream for ``file``, its name, and whether we must close it."""
    import io

    if isinstance(file, bytes | bytearray):
        return io.BytesIO(file), filename or "upload.bin", True
    if isinstance(file, str | os.PathLike):
        path = Path(file)
        if not path.is_file():
            raise FileNotFoundError(f"upload: no such file: {path}")
        return path.open("rb"), filename or path.name, True
    if hasattr(file, "read"):
        name = filename or os.path.basename(str(getattr(file, "name", "") or "")) or "upload.bin"
        return file, name, False
    raise TypeError(f"upload: file must be a path, bytes or a binary file object, not {file!r}")


class Profiles(Resource[D]):
    @endpoint
    def create(self, name: str, *, request_timeout: float | None = None) -> Flow[models.Profile]:
        body = build_body(models.NameBody, "profiles.create", {"name": name}).to_body()
        return (
            yield from self._fetch(
                models.Profile, "POST", "/profiles", json=body, timeout=request_timeout
            )
        )

    @endpoint
    def list(
        self, *, query: str | None = None, request_timeout: float | None = None
    ) -> Flow[builtins.list[models.Profile]]:
        return (
            yield from self._fetch_list(
                models.Profile, "/profiles", params={"query": query}, timeout=request_timeout
            )
        )

    @endpoint
    def get(self, profile_id: str, *, request_timeout: float | None = None) -> Flow[models.Profile]:
        path = f"/profiles/{_segment(profile_id, 'profile_id')}"
        return (yield from self._fetch(models.Profile, "GET", path, timeout=request_timeout))

    @endpoint
    def update(
        self, profile_id: str, *, name: str, request_timeout: float | None = None
    ) -> Flow[models.Profile]:
        path = f"/profiles/{_segment(profile_id, 'profile_id')}"
        body = build_body(models.NameBody, "profiles.update", {"name": name}).to_body()
        return (
            yield from self._fetch(models.Profile, "PUT", path, json=body, timeout=request_timeout)
        )

    @endpoint
    def delete(self, profile_id: str, *, request_timeout: float | None = None) -> Flow[None]:
        yield from self._delete(
            f"/profiles/{_segment(profile_id, 'profile_id')}", timeout=request_timeout
        )


class Billing(Resource[D]):
    @endpoint
    def usage(self, *, request_timeout: float | None = None) -> Flow[models.Usage]:
        return (
            yield from self._fetch(models.Usage, "GET", "/billing/usage", timeout=request_timeout)
        )

    @endpoint
    def balance(self, *, request_timeout: float | None = None) -> Flow[models.Balance]:
        return (
            yield from self._fetch(
                models.Balance, "GET", "/billing/balance", timeout=request_timeout
            )
        )
