"""One definition per operation of the v3 API, shared by ``BrowserUse`` and ``AsyncBrowserUse``.

Each method is written once as a flow (see ``_flow.py``). The ``endpoint`` descriptor turns
it into a plain method on a sync client and a coroutine method on an async one, and keeps
both precisely typed. Agent sessions, with their helpers, are in ``_sessions.py``.
"""

from __future__ import annotations

import builtins
import functools
import mimetypes
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from io import BytesIO
from pathlib import Path, PurePosixPath
from typing import IO, Any, Concatenate, Generic, ParamSpec, TypeVar, overload
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from bu_cdp import models
from bu_cdp._effects import iterate_async, iterate_sync, run_async, run_sync
from bu_cdp.client._flow import ApiRequest, Flow, Upload, send
from bu_cdp.client._io import AsyncIO, SyncIO

P = ParamSpec("P")
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
R = TypeVar("R", bound="models.RequestModel")
D = TypeVar("D", SyncIO, AsyncIO)

FileInput = str | os.PathLike[str] | bytes | IO[bytes]

# Seconds a create waits for its answer at least, whatever the client's ``timeout``: a server
# may queue it for a free slot (10 s on the local server) and then launch a browser (up to
# 30 s). A create that times out on the client may still make a browser, which nobody would
# then stop; so it waits. ``request_timeout=`` chooses otherwise for one call.
CREATE_TIMEOUT = 120.0


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
        at_least: float | None = None,
    ) -> Flow[M]:
        request = ApiRequest(
            method,
            path,
            params=params,
            json=json,
            timeout=timeout,
            idempotent=idempotent,
            at_least=at_least,
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
        return [model.model_validate(item) for item in _items(response.json(), path)]

    def _delete(self, path: str, *, timeout: float | None = None) -> Flow[None]:
        yield from send(self._io, ApiRequest("DELETE", path, timeout=timeout))


def _items(body: Any, path: str) -> builtins.list[Any]:
    """A list answer: a JSON array, as the spec has it, or read tolerantly, an object with one
    array field, as a paged list comes (``{"files": [...], "nextCursor": ..., "hasMore": ...}``:
    this page's items)."""
    if isinstance(body, list):
        return body
    arrays = (
        [value for value in body.values() if isinstance(value, list)]
        if isinstance(body, dict)
        else []
    )
    if len(arrays) != 1:
        raise ValueError(f"GET {path}: expected a list of items, got {type(body).__name__}")
    return arrays[0]


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


class Browsers(Resource[D]):
    @endpoint
    def create(
        self, /, *, request_timeout: float | None = None, **fields: Any
    ) -> Flow[models.Browser]:
        """Create a raw CDP browser.

        Fields are the spec's (``proxy_country_code``, ``custom_proxy``, ``profile_id``,
        ``enable_recording``, ``timeout`` in minutes, ``browserScreenWidth``,
        ``browserScreenHeight``); the screen fields may also be given in snake_case. Without
        ``request_timeout`` it waits at least ``CREATE_TIMEOUT`` seconds for the answer.
        """
        body = build_body(models.BrowserCreate, "browsers.create", fields)
        return (
            yield from self._fetch(
                models.Browser,
                "POST",
                "/browsers",
                json=body.to_body(),
                timeout=request_timeout,
                at_least=CREATE_TIMEOUT,
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
    if isinstance(file, bytes | bytearray):
        return BytesIO(file), filename or "upload.bin", True
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
