"""The hosted face: the hosted dialect of the v3 API, on a base path of its own.

``/api/v3`` answers the seed dialect exactly; the hosted dialect (camelCase, envelopes, stop by
``PATCH``, presigned uploads) is served by the same app and the same store under ``PREFIX``, so
the official SDK works against this server unchanged (docs/dialects.md).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from bu_cdp.server.auth import require_api_key
from bu_cdp.server.routes import hosted_browsers

PREFIX = "/hosted/api/v3"


def api_router() -> APIRouter:
    """Every key-protected route of the hosted face, to mount under ``PREFIX``."""
    api = APIRouter(dependencies=[Depends(require_api_key)])
    for face in (hosted_browsers,):
        api.include_router(face.router)
    return api
