"""Errors on the hosted face, in the hosted document's shapes.

Every error body is ``{"detail": "message"}`` (``SessionNotFoundError``, ``ProfileNotFoundError``,
``InsufficientCreditsError``, ...), except a 422, which is FastAPI's ``HTTPValidationError``
(``{"detail": [{"loc", "msg", "type"}]}``). Where the document gives a 422 the schema of one
``ValidationError`` instead (creating a browser or a profile, updating a browser), the first
error's ``loc``, ``msg`` and ``type`` are also at the top level, so the body matches both.
Rejected input is never echoed: it may hold a proxy's password.

``HostedRoute`` is the route class of the hosted routers: it turns the problems the shared
code raises (``ApiProblem``, and FastAPI's own validation errors) into those shapes, so the
seed face keeps its own handlers untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import ValidationError

from bu_cdp.server.shared.problems import ApiProblem

# The seed words the shared code names fields with, and the hosted document's for them.
CAMEL_FIELDS = {
    "proxy_country_code": "proxyCountryCode",
    "profile_id": "profileId",
    "custom_proxy": "customProxy",
    "enable_recording": "enableRecording",
    "browser_screen_width": "browserScreenWidth",
    "browser_screen_height": "browserScreenHeight",
}


def _error(loc: list[Any], msg: str, kind: str) -> dict[str, Any]:
    if loc[:1] == ["body"]:  # the document's path and query names are the seed's
        loc = ["body", *(CAMEL_FIELDS.get(str(part), part) for part in loc[1:])]
    return {"loc": loc, "msg": msg, "type": kind}


def validation_body(errors: list[dict[str, Any]]) -> dict[str, Any]:
    detail = [
        _error(list(e.get("loc", ())), str(e.get("msg", "")), str(e.get("type", "")))
        for e in errors
    ]
    return {**detail[0], "detail": detail} if detail else {"detail": detail}


def problem_response(problem: ApiProblem) -> JSONResponse:
    if problem.status_code == 422 and problem.field is not None:
        error = {
            "loc": [problem.location, problem.field],
            "msg": problem.detail,
            "type": "value_error",
        }
        body = validation_body([error])
    else:
        body = {"detail": problem.detail}
    return JSONResponse(body, status_code=problem.status_code, headers=problem.headers)


class HostedRoute(APIRoute):
    """A route of the hosted face: its errors answer in the hosted shapes."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def hosted(request: Request) -> Response:
            try:
                return await handle(request)
            except ApiProblem as problem:
                return problem_response(problem)
            except RequestValidationError as invalid:
                return JSONResponse(validation_body(list(invalid.errors())), status_code=422)
            except ValidationError as invalid:  # a request turned into the seed face's
                errors = [{**e, "loc": ["body", *e["loc"]]} for e in invalid.errors()]
                return JSONResponse(validation_body(errors), status_code=422)

        return hosted
