"""``PUT /uploads/{token}`` and ``GET /files/{token}``: presigned uploads and downloads of
workspace files (``presigned.py``).

Not under the API key: the token in the address is the permission, as with the hosted
service's presigned URLs. Errors answer in the hosted shape, ``{"detail": ...}``.
"""

from __future__ import annotations

import contextlib
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import FileResponse

from bu_cdp.server.api.hosted_errors import HostedRoute
from bu_cdp.server.api.presigned import DOWNLOAD_PATH, UPLOAD_PATH, PresignedUrls
from bu_cdp.server.shared.problems import ApiProblem
from bu_cdp.server.storage.workspaces import WorkspaceStore

router = APIRouter(route_class=HostedRoute, include_in_schema=False)

# The token is in the address: keep it out of Referer headers and caches.
PRIVATE_HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "private, no-store"}


@router.put(UPLOAD_PATH + "{token}")
async def put_upload(
    token: str,
    request: Request,
    content_type: Annotated[str | None, Header()] = None,
    content_length: Annotated[str | None, Header()] = None,
) -> Response:
    presigned: PresignedUrls = request.app.state.presigned
    grant = presigned.uploads.take(token)
    declared = None
    with contextlib.suppress(ValueError, TypeError):
        declared = int(content_length or "")
    if declared is not None and declared != grant.size:
        raise ApiProblem(
            400, f"Content-Length is {declared}; this upload was made for {grant.size} bytes."
        )
    if content_type is not None and content_type != grant.content_type:
        raise ApiProblem(
            400,
            f"Content-Type is {content_type!r}; this upload was made for {grant.content_type!r}.",
        )
    workspaces: WorkspaceStore = request.app.state.persistence.workspaces
    await workspaces.put_file(grant.workspace_id, grant.segments, grant.size, request.stream())
    return Response(status_code=200)


@router.get(DOWNLOAD_PATH + "{token}")
def get_file(token: str, request: Request) -> FileResponse:
    """Plain function, run in FastAPI's thread pool: it reads the store and the disk."""
    presigned: PresignedUrls = request.app.state.presigned
    grant = presigned.downloads.read(token)
    workspaces: WorkspaceStore = request.app.state.persistence.workspaces
    target = workspaces.file_path(grant.workspace_id, grant.path)
    return FileResponse(target, filename=target.name, headers=PRIVATE_HEADERS)
