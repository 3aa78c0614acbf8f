"""The hosted face: the hosted dialect of the v3 API, on a base path of its own.

``/api/v3`` answers the seed dialect exactly; the hosted dialect (camelCase, envelopes, stop by
``PATCH``, presigned uploads) is served by the same app and the same store under ``PREFIX``, so
the official SDK works against this server unchanged (docs/hosted-face.md).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI

from bu_cdp.server.api.presigned import PresignedUrls
from bu_cdp.server.api.routes import (
    hosted_billing,
    hosted_browsers,
    hosted_profiles,
    hosted_sessions,
    hosted_workspaces,
    uploads,
)
from bu_cdp.server.shared.auth import require_api_key

PREFIX = "/hosted/api/v3"


def mount(app: FastAPI) -> None:
    """Add the hosted face to the app: its API under ``PREFIX``, its presigned URLs."""
    app.state.presigned = PresignedUrls(app.state.config.minute_seconds)
    api = APIRouter(dependencies=[Depends(require_api_key)])
    faces = (hosted_browsers, hosted_profiles, hosted_workspaces, hosted_sessions, hosted_billing)
    for face in faces:
        api.include_router(face.router)
    app.include_router(api, prefix=PREFIX)
    app.include_router(uploads.router)
