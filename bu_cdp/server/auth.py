"""The X-Browser-Use-API-Key check, compared in constant time."""

from __future__ import annotations

import hmac

from fastapi import Request

from bu_cdp.server.problems import ApiProblem
from bu_cdp.settings import API_KEY_HEADER


async def require_api_key(request: Request) -> None:
    expected: str = request.app.state.config.api_key
    given = request.headers.get(API_KEY_HEADER, "")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        what = "missing" if not given else "not valid"
        raise ApiProblem(401, f"The {API_KEY_HEADER} header is {what}")


def token_matches(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
