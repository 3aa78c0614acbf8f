"""What every resource of the client shares: its calls said in the client's dialect, and the
descriptors that make one flow a sync method on ``BrowserUse`` and a coroutine on
``AsyncBrowserUse``.

A resource method names its operation (``"browsers.stop"``); ``_dialect.route`` says how that
operation goes in this client's dialect, and ``_request``/``_fetch``/``_walk`` put it on the
wire and read it back, following every page of a list. No method knows a path of its own.
"""

from __future__ import annotations

import builtins
import dataclasses
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from bu_cdp import errors, models
from bu_cdp.client._dialect import Paging, Route, route
from bu_cdp.client._flow import ApiRequest, Flow, send
from bu_cdp.client._io import AsyncIO, SyncIO
from bu_cdp.effects import Emit, iterate_async, iterate_sync, run_async, run_sync
from bu_cdp.settings import Dialect

Params = ParamSpec("Params")  # a flow method's parameters, after self
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
R = TypeVar("R", bound="models.RequestModel")
D = TypeVar("D", SyncIO, AsyncIO)

# Seconds a create waits for its answer at least, whatever the client's ``timeout``: a server
# may queue it for a free slot (10 s on the local server) and then launch a browser (up to
# 30 s). A create that times out on the client may still make a browser, which nobody would
# then stop; so it waits. ``request_timeout=`` chooses otherwise for one call.
CREATE_TIMEOUT = 120.0


class Resource(Generic[D]):
    def __init__(self, io: D, dialect: Dialect = "seed") -> None:
        self._io: D = io
        self._dialect: Dialect = dialect

    def _route(self, operation: str) -> Route:
        return route(self._dialect, operation)

    def _request(
        self,
        operation: str,
        ids: Mapping[str, str] | None = None,
        *,
        fields: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        timeout: float | None = None,
        at_least: float | None = None,
    ) -> ApiRequest:
        """``operation`` as this dialect says it: ids in the path, ``fields`` in the body
        model, ``params`` under their query names. What the dialect cannot say is an error."""
        said = self._route(operation)
        path = said.path.format(
            *(
                _file_path(v) if name == "path" else _segment(v, name)
                for name, v in (ids or {}).items()
            )
        )
        given = {k: v for k, v in (fields or {}).items() if v is not None}
        if said.body is not None:
            json = build_body(said.body, operation, dict(fields or {})).to_body()
        elif given:
            raise _unsaid(operation, self._dialect, given)
        query = dict(said.fixed_query)
        for name, value in (params or {}).items():
            if value is None:
                continue
            if name not in said.query:
                raise _unsaid(operation, self._dialect, {name: value})
            query[said.query[name]] = value
        return ApiRequest(
            said.method,
            path,
            params=query,
            json=json,
            timeout=timeout,
            idempotent=said.idempotent,
            at_least=at_least,
            errors=said.errors,
        )

    def _fetch(
        self,
        model: type[M],
        operation: str,
        ids: Mapping[str, str] | None = None,
        **how: Any,
    ) -> Flow[M]:
        said = self._route(operation)
        response = yield from send(self._io, self._request(operation, ids, **how))
        body = _json_or_empty(response)
        return model.model_validate(said.read(body) if said.read else body)

    def _send(self, operation: str, ids: Mapping[str, str] | None = None, **how: Any) -> Flow[Any]:
        """Send, and return the answer's JSON as it is (``{}`` for none)."""
        response = yield from send(self._io, self._request(operation, ids, **how))
        return _json_or_empty(response)

    def _walk(
        self,
        model: type[M],
        operation: str,
        ids: Mapping[str, str] | None = None,
        *,
        params: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        page_size: int | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Flow[None]:
        """Emit every item of a list, page after page as the dialect pages it; ``offset`` items
        skipped and at most ``limit`` given (by the server where the dialect lets it)."""
        if page_size is not None and page_size < 1:
            raise ValueError(f"page_size must be at least 1, got {page_size}")
        paging = self._route(operation).paging or Paging()
        request = self._request(operation, ids, params=params, timeout=timeout)
        server_offset = paging.offset is not None
        size = page_size if page_size is not None else (limit if server_offset else None)
        first = paging.first(size)
        if paging.offset is not None and (paging.size in first or offset):
            first[paging.offset] = offset or 0
        turn: dict[str, Any] | None = first
        skip = 0 if server_offset else (offset or 0)
        given = seen = 0
        first_of_last: Any = object()
        while turn is not None:
            page_request = dataclasses.replace(request, params={**(request.params or {}), **turn})
            response = yield from send(self._io, page_request)
            body = response.json()
            page = paging.read(body, page_request.describe())
            head = page[0].get("id") if page and isinstance(page[0], dict) else None
            if head is not None and head == first_of_last:
                return  # a server that ignores the paging would repeat itself forever
            first_of_last = head
            seen += len(page)
            for raw in page:
                if skip:
                    skip -= 1
                    continue
                yield Emit(model.model_validate(raw))
                given += 1
                if limit is not None and given >= limit:
                    return
            turn = paging.after(turn, body, page, seen)

    def _collect(
        self, model: type[M], operation: str, ids: Mapping[str, str] | None = None, **how: Any
    ) -> Flow[builtins.list[M]]:
        """``_walk``'s items as one list (its other effects pass through)."""
        walk = self._walk(model, operation, ids, **how)
        items: builtins.list[M] = []
        reply: Any = None
        while True:
            try:
                effect = walk.send(reply)
            except StopIteration:
                return items
            if isinstance(effect, Emit):
                items.append(effect.value)
                reply = None
            else:
                reply = yield effect


def _unsaid(operation: str, dialect: Dialect, given: Mapping[str, Any]) -> errors.NotSupportedError:
    names = ", ".join(f"{name}=" for name in given)
    return errors.NotSupportedError(
        f"{operation}(): {names} cannot be said in the {dialect} dialect", status_code=501
    )


class _FlowMethod(Generic[Params, T]):
    """A flow written once that a resource's method runs with the sync or the async runner of
    ``bu_cdp.effects``, as the resource's I/O is sync or async."""

    # (sync runner, async runner); a runner is a plain function, not a method of the class
    runners: tuple[Callable[[Flow[Any]], Any], Callable[[Flow[Any]], Any]]

    def __init__(self, flow: Callable[Concatenate[Any, Params], Flow[Any]]) -> None:
        self._flow = flow
        functools.update_wrapper(self, flow)  # type: ignore[arg-type]

    def _bound(self, obj: Resource[Any] | None) -> Any:
        if obj is None:
            return self
        flow = self._flow
        run_sync_face, run_async_face = self.runners
        run = run_async_face if isinstance(obj._io, AsyncIO) else run_sync_face

        @functools.wraps(flow)
        def call(*args: Any, **kwargs: Any) -> Any:
            return run(flow(obj, *args, **kwargs))

        return call


class endpoint(_FlowMethod[Params, T]):
    """A flow-returning method that becomes sync or async with the client it lives on."""

    runners = (run_sync, run_async)

    def __init__(self, flow: Callable[Concatenate[Any, Params], Flow[T]]) -> None:
        super().__init__(flow)

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> endpoint[Params, T]: ...
    @overload
    def __get__(self, obj: Resource[SyncIO], owner: type[Any]) -> Callable[Params, T]: ...
    @overload
    def __get__(
        self, obj: Resource[AsyncIO], owner: type[Any]
    ) -> Callable[Params, Awaitable[T]]: ...
    def __get__(self, obj: Resource[Any] | None, owner: type[Any]) -> Any:
        return self._bound(obj)


class iterator_endpoint(_FlowMethod[Params, T]):
    """A flow that yields items: an Iterator on a sync client, an AsyncIterator on an async one."""

    runners = (iterate_sync, iterate_async)

    def __init__(self, flow: Callable[Concatenate[Any, Params], Flow[None]]) -> None:
        super().__init__(flow)

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> iterator_endpoint[Params, T]: ...
    @overload
    def __get__(self, obj: Resource[SyncIO], owner: type[Any]) -> Callable[Params, Iterator[T]]: ...
    @overload
    def __get__(
        self, obj: Resource[AsyncIO], owner: type[Any]
    ) -> Callable[Params, AsyncIterator[T]]: ...
    def __get__(self, obj: Resource[Any] | None, owner: type[Any]) -> Any:
        return self._bound(obj)


def emitting(
    item: type[T],
) -> Callable[[Callable[Concatenate[Any, Params], Flow[None]]], iterator_endpoint[Params, T]]:
    """``@emitting(models.Session)``: an ``iterator_endpoint`` whose items are ``item``."""

    def wrap(flow: Callable[Concatenate[Any, Params], Flow[None]]) -> iterator_endpoint[Params, T]:
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
