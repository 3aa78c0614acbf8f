"""The hosted face's workspaces: envelope list, create (201, name optional), get, rename by
``PATCH``, delete; files (prefix, cursor, ``shallow``), deleting one file, size, and
presigned uploads (``presigned.py``). The work is ``WorkspaceStore``', as for the seed face.
Plain functions, run in FastAPI's thread pool: the store and the files wait for the disk.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response

from bu_cdp.server.api import hosted_files, hosted_views
from bu_cdp.server.api.hosted_errors import HostedRoute
from bu_cdp.server.api.hosted_schemas import (
    MAX_PAGE_SIZE,
    HostedNameRequest,
    HostedUploadRequest,
)
from bu_cdp.server.api.presigned import (
    DOWNLOAD_PATH,
    UPLOAD_PATH,
    DownloadGrant,
    PresignedUrls,
    UploadGrant,
)
from bu_cdp.server.shared.addresses import public_base
from bu_cdp.server.shared.problems import invalid
from bu_cdp.server.storage.uploads import too_large
from bu_cdp.server.storage.workspace_paths import MAX_PATH_BYTES, Where, split_path
from bu_cdp.server.storage.workspaces import WorkspaceStore

router = APIRouter(tags=["Workspaces"], route_class=HostedRoute)


def _workspaces(request: Request) -> WorkspaceStore:
    workspaces: WorkspaceStore = request.app.state.persistence.workspaces
    return workspaces


@router.get("/workspaces")
def list_workspaces(
    request: Request,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, alias="pageSize")] = 10,
    page_number: Annotated[int, Query(ge=1, alias="pageNumber")] = 1,
) -> dict[str, Any]:
    found = _workspaces(request).list()
    items = [hosted_views.named(v) for v in hosted_views.page_window(found, page_number, page_size)]
    return hosted_views.page_envelope(items, len(found), page_number, page_size)


@router.post("/workspaces", status_code=201)
def create_workspace(
    request: Request, body: Annotated[HostedNameRequest | None, Body()] = None
) -> dict[str, Any]:
    name = body.name if body is not None else None
    return hosted_views.named(_workspaces(request).create(name or ""))


@router.get("/workspaces/{workspace_id}")
def get_workspace(workspace_id: uuid.UUID, request: Request) -> dict[str, Any]:
    return hosted_views.named(_workspaces(request).get(str(workspace_id)))


@router.patch("/workspaces/{workspace_id}")
def update_workspace(
    workspace_id: uuid.UUID, body: HostedNameRequest, request: Request
) -> dict[str, Any]:
    return hosted_views.named(_workspaces(request).rename(str(workspace_id), body.name))


@router.delete("/workspaces/{workspace_id}", status_code=204)
def delete_workspace(workspace_id: uuid.UUID, request: Request) -> Response:
    _workspaces(request).delete(str(workspace_id))
    return Response(status_code=204)


@router.get("/workspaces/{workspace_id}/files")
def list_files(
    workspace_id: uuid.UUID,
    request: Request,
    prefix: str = "",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    cursor: str | None = None,
    include_urls: Annotated[bool, Query(alias="includeUrls")] = False,
    shallow: bool = False,
) -> dict[str, Any]:
    entries = _workspaces(request).list_files(str(workspace_id), None)
    page = hosted_files.file_page(entries, prefix, limit, cursor, shallow)
    if include_urls:
        presigned: PresignedUrls = request.app.state.presigned
        base = public_base(request) + DOWNLOAD_PATH
        for file in page["files"]:
            grant = DownloadGrant(str(workspace_id), file["path"])
            file["url"] = base + presigned.downloads.grant(grant)
    return page


@router.delete("/workspaces/{workspace_id}/files", status_code=204)
def delete_file(workspace_id: uuid.UUID, path: str, request: Request) -> Response:
    _workspaces(request).delete_file(str(workspace_id), path)
    return Response(status_code=204)


@router.get("/workspaces/{workspace_id}/size")
def workspace_size(workspace_id: uuid.UUID, request: Request) -> dict[str, int]:
    return {"bytes": _workspaces(request).size(str(workspace_id))}


@router.post("/workspaces/{workspace_id}/files/upload")
def upload_files(
    workspace_id: uuid.UUID, body: HostedUploadRequest, request: Request, prefix: str = ""
) -> dict[str, Any]:
    """Presigned ``uploadUrl``s, one per declared file (``presigned.py``)."""
    workspaces = _workspaces(request)
    workspaces.get(str(workspace_id))
    folder = split_path(prefix, Where("prefix", "query"), folder=True)
    presigned: PresignedUrls = request.app.state.presigned
    answers = []
    for index, item in enumerate(body.files):
        where = Where("name", "body")
        if item.size is None:
            raise invalid(f"files.{index}.size", "size is required: the URL is made for it")
        if item.size > workspaces.max_upload_bytes:
            raise too_large(workspaces.max_upload_bytes)
        segments = folder + split_path(item.name, where, folder=False)
        path = "/".join(segments)
        if len(path.encode()) > MAX_PATH_BYTES:
            raise where.refuse(f"with the prefix must be at most {MAX_PATH_BYTES} bytes")
        grant = UploadGrant(str(workspace_id), segments, item.size, item.content_type)
        token = presigned.uploads.grant(grant)
        upload_url = public_base(request) + UPLOAD_PATH + token
        answers.append({"name": item.name, "uploadUrl": upload_url, "path": path})
    return {"files": answers}
