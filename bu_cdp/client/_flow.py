"""The client's one implementation, free of I/O.

Every operation is a generator (a *flow*, see ``bu_cdp.effects``) that yields effects —
send this request, pause this long, hand the caller this item — and receives their results.
Sync and async clients differ only in the object that sends (``_io.py``), so they share every
line of logic: request shapes, retries, error mapping, polling and paging.
"""

from __future__ import annotations

import dataclasses
import email.utils
import itertools
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol, TypeAlias, TypeVar

import httpx

from bu_cdp import errors
from bu_cdp.effects import Pause, Procedure, call
from bu_cdp.wire import API_KEY_HEADER

T = TypeVar("T")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRYABLE_STATUSES = frozenset({502, 503, 504})
CHUNK = 64 * 1024  # bytes read from an upload's file at a time


@dataclass
class Upload:
    """A file to send, streamed from ``stream``: as one multipart field, or (``size`` given)
    as the whole body of the request, ``size`` bytes long."""

    field_name: str
    filename: str
    stream: IO[bytes]
    content_type: str = "application/octet-stream"
    start: int = 0  # where a retry rewinds to
    size: int | None = None  # the raw body's length (a presigned PUT)

    def chunks(self) -> Iterator[bytes]:
        while chunk := self.stream.read(CHUNK):
            yield chunk

    async def async_chunks(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks():
            yield chunk


@dataclass
class ApiRequest:
    method: str
    path: str
    params: Mapping[str, Any] | None = None
    json: Any = None
    upload: Upload | None = None
    # Seconds for the whole call, retries included (``request_timeout=``); None: the client's
    # timeout, for each attempt.
    timeout: float | None = None
    # Without a ``timeout``: wait at least this long for the answer, whatever the client's
    # timeout (a create may queue for a free slot, then launch a browser).
    at_least: float | None = None
    download_to: Path | None = None  # stream a successful body into this file
    # Told the bytes of the download so far, after each chunk (for progress displays).
    on_progress: Callable[[int], None] | None = None
    idempotent: bool = False  # safe to repeat though not GET/PUT/DELETE (a stop, say)
    # An absolute address somewhere else (a presigned URL): the API key is not sent there.
    external: bool = False
    # Error statuses the operation's document gives another meaning: status -> (class, field).
    errors: Mapping[int, tuple[type[errors.APIError], str | None]] | None = None

    @property
    def retry_method(self) -> str:
        """The method the retry policy weighs: a stop is as safe to repeat as a PUT."""
        return "PUT" if self.idempotent else self.method

    def build(self, http: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        files = None
        content: Any = None
        headers: dict[str, str] = {}
        if self.upload is not None:
            up = self.upload
            up.stream.seek(up.start)
            if up.size is None:
                files = {up.field_name: (up.filename, up.stream, up.content_type)}
            else:  # the bytes are the body, streamed from the file, never read whole
                async_client = isinstance(http, httpx.AsyncClient)
                content = up.async_chunks() if async_client else up.chunks()
                headers = {"Content-Type": up.content_type, "Content-Length": str(up.size)}
        params = {k: v for k, v in (self.params or {}).items() if v is not None}
        timeout: Any = httpx.USE_CLIENT_DEFAULT
        if self.timeout is not None:
            timeout = self.timeout
        elif self.at_least is not None:
            timeout = _at_least(http.timeout, self.at_least)
        # A presigned address is absolute, or absolute-path on the API's host.
        url = http.base_url.join(self.path) if self.external else self.path
        request = http.build_request(
            self.method,
            url,
            params=params or None,  # none: a presigned URL keeps its own query
            json=self.json,
            files=files,
            content=content,
            headers=headers,
            timeout=timeout,
        )
        if self.external:
            request.headers.pop(API_KEY_HEADER, None)
        return request

    def describe(self) -> str:
        if self.external:  # a presigned URL carries its signature: show only where it goes
            return f"{self.method} {self.path.split('?', 1)[0]}"
        return f"{self.method} {self.path}"


def _at_least(timeout: httpx.Timeout, seconds: float) -> httpx.Timeout:
    """``timeout`` with its read timeout raised to ``seconds`` (None, no limit, stays)."""
    read = None if timeout.read is None else max(timeout.read, seconds)
    return httpx.Timeout(connect=timeout.connect, read=read, write=timeout.write, pool=timeout.pool)


# What sending gets back: the answer, or the transport error that stood in its way.
SendResult: TypeAlias = httpx.Response | httpx.TransportError
Flow: TypeAlias = Procedure[T]


class SyncSender(Protocol):
    """``SyncIO``: sends one request; the flow decides what happens next."""

    retry: RetryPolicy

    def send(self, request: ApiRequest, /) -> SendResult: ...


class AsyncSender(Protocol):
    """``AsyncIO``: the same, as a coroutine."""

    retry: RetryPolicy

    def send(self, request: ApiRequest, /) -> Awaitable[SendResult]: ...


Sender: TypeAlias = SyncSender | AsyncSender


@dataclass(frozen=True)
class RetryPolicy:
    """When to send a request again.

    429 is retried on every method (the server refused before doing anything), honouring
    Retry-After. 502/503/504 and errors after the connection was made are retried only on
    idempotent methods: a POST that may have reached the server (a billed create) is never sent
    twice. A refused connection never reached the server, so it is retried on every method.
    """

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    jitter: float = 0.25
    _random: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def delay(self, method: str, attempt: int, outcome: SendResult) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None to give up."""
        if attempt >= self.max_retries:
            return None
        if isinstance(outcome, httpx.Response):
            if outcome.status_code == 429:
                retry_after = parse_retry_after(outcome.headers.get("retry-after"))
                if retry_after is not None:
                    return min(retry_after, self.max_retry_after)
                return self._backoff(attempt)
            if outcome.status_code in RETRYABLE_STATUSES and method in IDEMPOTENT_METHODS:
                return self._backoff(attempt)
            return None
        if isinstance(outcome, httpx.ConnectError | httpx.ConnectTimeout):
            return self._backoff(attempt)
        if method in IDEMPOTENT_METHODS:
            return self._backoff(attempt)
        return None

    def _backoff(self, attempt: int) -> float:
        base = min(self.max_delay, self.initial_delay * 2.0**attempt)
        return base * (1 - self.jitter * self._random.random())


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds, from either of its two forms (delta-seconds or HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def send(sender: Sender, request: ApiRequest) -> Flow[httpx.Response]:
    """Send ``request`` with retries; return a 2xx answer or raise the matching error.

    A request with a ``timeout`` gets that long in all: a retry that would start after it is
    not made, and each retry gets only what is left.
    """
    outcome: SendResult | None = None
    deadline = None if request.timeout is None else time.monotonic() + request.timeout
    attempt_request = request
    for attempt in itertools.count():
        outcome = yield from call(sender.send, attempt_request)
        wait = sender.retry.delay(request.retry_method, attempt, outcome)
        if wait is None:
            break
        if deadline is not None:
            left = deadline - time.monotonic() - wait
            if left <= 0:
                break
            attempt_request = dataclasses.replace(request, timeout=left)
        yield Pause(wait)
    if isinstance(outcome, httpx.TransportError):
        raise transport_error(request, outcome)
    assert isinstance(outcome, httpx.Response)
    if outcome.is_error:
        raise api_error(request, outcome)
    return outcome


def transport_error(request: ApiRequest, exc: httpx.TransportError) -> errors.BuCdpError:
    where = _host_of(exc)
    if isinstance(exc, httpx.TimeoutException):
        return errors.APITimeoutError(f"{request.describe()} to {where} timed out ({exc!r})")
    return errors.APIConnectionError(f"{request.describe()}: could not reach {where} ({exc!r})")


def _host_of(exc: httpx.TransportError) -> str:
    try:
        url = exc.request.url
    except RuntimeError:
        return "the API"
    return f"{url.scheme}://{url.netloc.decode()}"


def api_error(request: ApiRequest, response: httpx.Response) -> errors.APIError:
    body = _body_of(response)
    message, fields = _message_of(body)
    message = f"{request.describe()}: {message or response.reason_phrase or 'error'}"
    status = response.status_code
    cls = errors.error_class_for(status)
    if request.errors and status in request.errors:
        cls, field_name = request.errors[status]
        fields = fields or ([field_name] if field_name else [])
    if cls is errors.UnprocessableEntityError:
        return errors.UnprocessableEntityError(
            message, status_code=status, body=body, fields=fields
        )
    if cls is errors.RateLimitError:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        return errors.RateLimitError(
            message, status_code=status, body=body, retry_after=retry_after
        )
    return cls(message, status_code=status, body=body)


def _body_of(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text or None


def _message_of(body: Any) -> tuple[str, list[str]]:
    """The human message of an error body, and the fields it names (422)."""
    if not isinstance(body, dict):
        return (str(body)[:500] if body else ""), []
    if "loc" in body and "msg" in body:  # one validation error, as the hosted 422 of a create
        body = {"detail": [body]}
    detail = body.get("detail", body.get("message", body.get("error")))
    if isinstance(detail, list):
        fields: list[str] = []
        parts = []
        for item in detail:
            if not isinstance(item, dict):
                parts.append(str(item))
                continue
            loc = [str(p) for p in item.get("loc", []) if p not in ("body", "query", "path")]
            if loc:
                fields.append(loc[-1])
            parts.append(f"{'.'.join(loc) or 'request'}: {item.get('msg', 'invalid')}")
        return "; ".join(parts), fields
    if isinstance(detail, dict):
        return str(detail.get("message", detail)), []
    field_name = body.get("field")
    return (str(detail) if detail is not None else ""), ([field_name] if field_name else [])
