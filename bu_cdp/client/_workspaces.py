"""Workspaces and their files (upload, list, download, delete), for both clients: flows
written once, as every resource's (``_resources.py``)."""

from __future__ import annotations

import builtins
import mimetypes
import os
from collections.abc import Callable
from io import BytesIO
from pathlib import Path, PurePosixPath
from typing import IO, Any

from bu_cdp import errors, models
from bu_cdp.client._base import D, endpoint
from bu_cdp.client._flow import ApiRequest, Flow, Upload, send
from bu_cdp.client._resources import _Named

FileInput = str | os.PathLike[str] | bytes | IO[bytes]


class Workspaces(_Named[D, models.Workspace]):
    _noun = "workspace"
    _model = models.Workspace

    @endpoint
    def create(self, name: str, *, request_timeout: float | None = None) -> Flow[models.Workspace]:
        return (yield from self._create(name, request_timeout))

    @endpoint
    def list(
        self, *, request_timeout: float | None = None
    ) -> Flow[builtins.list[models.Workspace]]:
        """Every workspace (every page)."""
        return (
            yield from self._collect(models.Workspace, "workspaces.list", timeout=request_timeout)
        )

    @endpoint
    def get(
        self, workspace_id: str, *, request_timeout: float | None = None
    ) -> Flow[models.Workspace]:
        return (yield from self._get(workspace_id, request_timeout))

    @endpoint
    def update(
        self, workspace_id: str, *, name: str, request_timeout: float | None = None
    ) -> Flow[models.Workspace]:
        return (yield from self._update(workspace_id, name, request_timeout))

    @endpoint
    def delete(self, workspace_id: str, *, request_timeout: float | None = None) -> Flow[None]:
        yield from self._delete(workspace_id, request_timeout)

    @endpoint
    def upload(
        self,
        workspace_id: str,
        file: FileInput,
        *,
        prefix: str | None = None,
        filename: str | None = None,
        request_timeout: float | None = None,
    ) -> Flow[dict[str, Any]]:
        """Upload one file, streamed: a path, bytes, or a binary file object.

        ``filename`` names it in the workspace (default: the path's or file object's name);
        ``prefix`` is the folder it goes in. Seed: one multipart request. Hosted: a presigned
        URL is asked for, then the bytes are PUT there, streamed from the file.
        """
        ids = {"workspace_id": workspace_id}
        how = self._route("workspaces.upload").transfer
        stream, name, owned = _open_upload(file, filename)
        try:
            content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
            start = stream.tell()
            if how == "multipart":
                upload = Upload("file", name, stream, content_type, start=start)
                request = self._request(
                    "workspaces.upload", ids, params={"prefix": prefix}, timeout=request_timeout
                )
                request.upload = upload
                response = yield from send(self._io, request)
                return dict(response.json() if response.content else {})
            size = stream.seek(0, os.SEEK_END) - start
            item: dict[str, Any] = {"name": name, "contentType": content_type}
            if size > 0:
                item["size"] = size  # the hosted document wants it, and at least 1
            answer = yield from self._send(
                "workspaces.upload",
                ids,
                params={"prefix": prefix},
                json={"files": [item]},
                timeout=request_timeout,
            )
            presigned = _one_file(answer, name)
            put = ApiRequest(
                "PUT",
                str(presigned["uploadUrl"]),
                upload=Upload("file", name, stream, content_type, start=start, size=size),
                timeout=request_timeout,
                external=True,
            )
            yield from send(self._io, put)
            return {"name": name, "path": presigned.get("path")}
        finally:
            if owned:
                stream.close()

    @endpoint
    def files(
        self,
        workspace_id: str,
        *,
        prefix: str | None = None,
        include_urls: bool | None = None,
        request_timeout: float | None = None,
    ) -> Flow[builtins.list[models.WorkspaceFile]]:
        """Every file of a workspace (under ``prefix``), every page; hosted:
        ``include_urls=True`` adds a short-lived download URL to each."""
        return (
            yield from self._collect(
                models.WorkspaceFile,
                "workspaces.files",
                {"workspace_id": workspace_id},
                params={"prefix": prefix, "include_urls": include_urls},
                timeout=request_timeout,
            )
        )

    @endpoint
    def delete_file(
        self, workspace_id: str, path: str, *, request_timeout: float | None = None
    ) -> Flow[None]:
        """Delete one file of a workspace (hosted)."""
        if not isinstance(path, str) or not path:
            raise ValueError(f"path must be a non-empty string, got {path!r}")
        yield from self._send(
            "workspaces.delete_file",
            {"workspace_id": workspace_id},
            params={"path": path},
            timeout=request_timeout,
        )

    @endpoint
    def size(
        self, workspace_id: str, *, request_timeout: float | None = None
    ) -> Flow[models.WorkspaceSize]:
        ids = {"workspace_id": workspace_id}
        return (
            yield from self._fetch(
                models.WorkspaceSize, "workspaces.size", ids, timeout=request_timeout
            )
        )

    @endpoint
    def download(
        self,
        workspace_id: str,
        path: str,
        dest: str | os.PathLike[str],
        *,
        on_progress: Callable[[int], None] | None = None,
        request_timeout: float | None = None,
    ) -> Flow[Path]:
        """Download one file of a workspace to ``dest``, streamed; the path written.

        ``path`` is the file's path in the workspace (``docs/report.pdf``). If ``dest`` is an
        existing folder, or ends with a slash, the file keeps its name inside it. ``dest``
        appears only once the whole file has arrived. ``on_progress`` is told the bytes
        received so far as they come. Seed: an extension of the v3 spec, served by the bu-cdp
        local server; hosted: from the URL the file's listing gives.
        """
        target = Path(dest)
        if target.is_dir() or os.fspath(dest).endswith(("/", os.sep)):
            target = target / PurePosixPath(path).name  # into the folder, under its own name
        ids = {"workspace_id": workspace_id}
        if self._route("workspaces.download").transfer == "direct":
            request = self._request(
                "workspaces.download", {**ids, "path": path}, timeout=request_timeout
            )
        else:
            listed = yield from self._collect(
                models.WorkspaceFile,
                "workspaces.download",
                ids,
                params={"prefix": path},
                timeout=request_timeout,
            )
            url = _url_of(listed, workspace_id, path)
            request = ApiRequest("GET", url, timeout=request_timeout, external=True)
        request.download_to, request.on_progress = target, on_progress
        yield from send(self._io, request)
        return target


def _one_file(answer: Any, name: str) -> dict[str, Any]:
    files = answer.get("files") if isinstance(answer, dict) else None
    if not files or not isinstance(files[0], dict) or not files[0].get("uploadUrl"):
        raise ValueError(f"upload of {name}: the API gave no upload URL ({str(answer)[:200]})")
    return files[0]


def _url_of(listed: builtins.list[models.WorkspaceFile], workspace_id: str, path: str) -> str:
    match = [f for f in listed if f.path == path]
    if not match:
        raise errors.NotFoundError(
            f"workspace {workspace_id} has no file {path!r}", status_code=404
        )
    if not match[0].url:
        raise errors.NotSupportedError(
            f"the API listed {path!r} without a download URL", status_code=501
        )
    return match[0].url


def _open_upload(file: FileInput, filename: str | None) -> tuple[IO[bytes], str, bool]:
    """A readable binary stream for ``file``, its name, and whether we must close it."""
    if isinstance(file, bytes | bytearray):
        return BytesIO(file), filename or "upload.bin", True
    if isinstance(file, str | os.PathLike):
        path = Path(file)
        if not path.is_file():
            raise FileNotFoundError(f"upload: no such file: {path}")
        return path.open("rb"), filename or path.name, True
    if hasattr(file, "read"):
        name = filename or os.path.basename(str(getattr(file, "name", "") or "")) or "upload.bin"
        return file, name, False
    raise TypeError(f"upload: file must be a path, bytes or a binary file object, not {file!r}")
