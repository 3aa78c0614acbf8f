"""The workspace paths, and one extension of the spec: downloading a file.

``GET /workspaces/{id}/files/{path}`` streams one file back; the spec has no way to read a
workspace's files, and a workspace you cannot read back is of little use.

Plain functions, which FastAPI runs in its thread pool: they wait for the database and the
disk, which must never hold up the event loop. The upload is the exception: it reads the
request stream, and moves its own disk work to worker threads.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse

from bu_cdp.server.shared.names import NameRequest
from bu_cdp.server.shared.problems import invalid
from bu_cdp.server.storage.workspaces import WorkspaceStore

router = APIRouter(tags=["Workspaces"])


def _workspaces(request: Request) -> WorkspaceStore:
    workspaces: WorkspaceStore = request.app.state.persistence.workspaces
    return workspaces


@router.post("/workspaces")
def create_workspace(body: NameRequest, request: Request) -> dict[str, Any]:
    if body.name is None:
        raise invalid("name", "name is required")
    return _workspaces(request).create(body.name)


@router.get("/workspaces")
def list_workspaces(request: Request) -> list[dict[str, Any]]:
    return _workspaces(request).list()


@router.get("/workspaces/{workspace_id}")
def get_workspace(workspace_id: str, request: Request) -> dict[str, Any]:
    return _workspaces(request).get(workspace_id)


@router.put("/workspaces/{workspace_id}")
def rename_workspace(workspace_id: str, body: NameRequest, request: Request) -> dict[str, Any]:
    return _workspaces(request).rename(workspace_id, body.name)


@router.delete("/workspaces/{workspace_id}", status_code=204)
def delete_workspace(workspace_id: str, request: Request) -> Response:
    _workspaces(request).delete(workspace_id)
    return Response(status_code=204)


@router.post("/workspaces/{workspace_id}/upload")
async def upload_files(
    workspace_id: str, request: Request, prefix: str | None = None
) -> dict[str, Any]:
    """Multipart field ``file`` (one or more), streamed to disk; ``prefix`` is a folder."""
    files = await _workspaces(request).upload(
        workspace_id,
        prefix,
        request.headers.get("content-type"),
        request.headers.get("content-length"),
        request.stream(),
    )
    return {"files": files}


@router.get("/workspaces/{workspace_id}/files")
def list_files(
    workspace_id: str, request: Request, prefix: str | None = None
) -> list[dict[str, Any]]:
    return _workspaces(request).list_files(workspace_id, prefix)


@router.get("/workspaces/{workspace_id}/size")
def workspace_size(workspace_id: str, request: Request) -> dict[str, int]:
    return {"bytes": _workspaces(request).size(workspace_id)}


@router.get("/workspaces/{workspace_id}/files/{path:path}")
def download_file(workspace_id: str, path: str, request: Request) -> FileResponse:
    """An extension of the spec: the bytes of one file of the workspace."""
    target = _workspaces(request).file_path(workspace_id, path)
    return FileResponse(target, filename=target.name)
