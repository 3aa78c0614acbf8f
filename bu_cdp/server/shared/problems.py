"""Errors the API answers with: a status and a message that names the problem."""

from __future__ import annotations

import errno
import math
import sqlite3
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

# An error answer echoes at most this much of what was sent: enough to recognise it, never
# the whole 20 MB name back.
EXCERPT_CHARS = 80
EXCERPT_ITEMS = 10
MAX_DETAIL_CHARS = 1000


def excerpt(value: Any, depth: int = 0) -> Any:
    """``value`` made short and always encodable as JSON: long text cut, lone surrogates
    escaped, NaN and Infinity spelt as text, nested lists and objects bounded."""
    if isinstance(value, str):
        text = value if len(value) <= EXCERPT_CHARS else value[:EXCERPT_CHARS] + "…"
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if depth >= 3:
        return "…"
    if isinstance(value, dict):
        items = list(value.items())[:EXCERPT_ITEMS]
        return {excerpt(str(k)): excerpt(v, depth + 1) for k, v in items}
    if isinstance(value, list | tuple):
        return [excerpt(item, depth + 1) for item in value[:EXCERPT_ITEMS]]
    return excerpt(str(value), depth)


def readable(detail: str) -> str:
    """A message that may quote what was sent, bounded and encodable."""
    short = detail if len(detail) <= MAX_DETAIL_CHARS else detail[:MAX_DETAIL_CHARS] + "…"
    return short.encode("utf-8", "backslashreplace").decode("utf-8")


class ApiProblem(Exception):
    def __init__(
        self,
        status_code: int,
        detail: str,
        *,
        field: str | None = None,
        location: str = "body",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.field = field
        self.location = location
        self.headers = headers

    def content(self) -> dict[str, Any]:
        if self.status_code == 422 and self.field is not None:
            # Shaped like FastAPI's own 422, so clients find the field the same way.
            loc = [self.location, readable(self.field)]
            return {"detail": [{"loc": loc, "msg": readable(self.detail), "type": "value_error"}]}
        return {"detail": readable(self.detail)}


def not_found(kind: str, item_id: str) -> ApiProblem:
    return ApiProblem(404, f"{kind} {item_id!r} not found")


def invalid(field: str, message: str, location: str = "body") -> ApiProblem:
    return ApiProblem(422, message, field=field, location=location)


def first_invalid(exc: ValidationError) -> ApiProblem:
    """A 422 naming the first field of a request built by the server from another one."""
    error = exc.errors()[0]
    name = str(error["loc"][0]) if error["loc"] else "body"
    return invalid(name, f"{name}: {error['msg']}")


async def handle_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiProblem)
    return JSONResponse(exc.content(), status_code=exc.status_code, headers=exc.headers)


FULL_DISK = ApiProblem(507, "The server's disk is full: nothing was saved. Free some space.")


def is_full_disk(exc: BaseException) -> bool:
    """SQLite's SQLITE_FULL, or a write refused for space (ENOSPC) or quota (EDQUOT)."""
    if isinstance(exc, sqlite3.Error):
        return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


async def handle_storage_error(request: Request, exc: Exception) -> JSONResponse:
    """507 for a full disk on any write, the store's included; anything else stays an error."""
    if is_full_disk(exc):
        return await handle_problem(request, FULL_DISK)
    raise exc
