"""The X-Browser-Use-API-Key check, compared in constant time."""

from __future__ import annotations

import hmac

from fastapi import Request

from bu_cdp.server.shared.problems import ApiProblem
from bu_cdp.wire import API_KEY_HEADER


async def require_api_key(request: Request) -> None:
    expected: str = request.app.state.config.api_key
    refusal = key_refusal(request.headers.get(API_KEY_HEADER, "").encode("latin-1"), expected)
    if refusal is not None:
        raise ApiProblem(401, refusal)


def key_refusal(given: bytes, expected: str) -> str | None:
    """Why a request with key ``given`` is refused (401), or None if it is the key."""
    if hmac.compare_digest(given, expected.encode()):
        return None
    return f"The {API_KEY_HEADER} header is {'not valid' if given else 'missing'}"


def token_matches(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
