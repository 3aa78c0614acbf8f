"""Errors the API answers with: a status and a message that names the problem."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse


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
            loc = [self.location, self.field]
            return {"detail": [{"loc": loc, "msg": self.detail, "type": "value_error"}]}
        return {"detail": self.detail}


def not_found(kind: str, item_id: str) -> ApiProblem:
    return ApiProblem(404, f"{kind} {item_id!r} not found")


def invalid(field: str, message: str, location: str = "body") -> ApiProblem:
    return ApiProblem(422, message, field=field, location=location)


async def handle_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiProblem)
    return JSONResponse(exc.content(), status_code=exc.status_code, headers=exc.headers)
