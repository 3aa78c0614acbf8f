"""Workspaces: named folders of files on the server, filled by streamed uploads.

On disk, ``workspaces/<id>/files/`` holds the files. Uploads under way write to
``workspaces/<id>/partial/<run id>/``, a folder per server run: several servers may share a
data folder, and one starting up removes only the partial files of runs that are over. An
upload (``uploads.py``) ends with its files flushed to disk, then renamed into place here, all
of its targets checked first, so a file is either absent or whole. Client paths are checked by
``workspace_paths.py``.

Everything here may wait for the disk or the database, so nothing is called on the event loop:
the routes are plain functions (run in a worker thread) and ``upload`` moves each piece of disk
work to a worker thread.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import errno
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bu_cdp.server.shared.disk import fsync_dir
from bu_cdp.server.shared.problems import ApiProblem, not_found
from bu_cdp.server.storage.runs import run_is_over
from bu_cdp.server.storage.store import Store, is_id, new_id, now, timestamp
from bu_cdp.server.storage.uploads import (
    StreamedFile,
    StreamedUpload,
    UploadPart,
    multipart_boundary,
    refuse_declared_size,
    too_large,
)
from bu_cdp.server.storage.workspace_paths import Where, resolve, split_path

PARTIAL_FOLDER = "partial"
IN_PATH = Where("path", "path")  # a file named in the request's path


def present(row: Any) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "created_at": row["created_at"]}


def file_entry(path: Path, root: Path) -> dict[str, Any]:
    info = path.stat()
    return {
        "path": path.relative_to(root).as_posix(),
        "size": info.st_size,
        "modified_at": datetime.fromtimestamp(info.st_mtime, UTC).isoformat(),
    }


@contextlib.contextmanager
def conflicts_are_409(root: Path) -> Iterator[None]:
    """A file where a folder must go, or the other way round, is the client's conflict.

    The checks before placing catch what is already there; this catches what another request
    put there in the meantime.
    """
    try:
        yield
    except (IsADirectoryError, NotADirectoryError, FileExistsError) as exc:
        # os.replace names its target second; mkdir names the one path.
        names = [str(n) for n in (exc.filename2, exc.filename) if n]
        inside = [n for n in names if Path(n).is_relative_to(root)]
        shown = f" at {Path(inside[0]).relative_to(root).as_posix()!r}" if inside else ""
        raise ApiProblem(
            409,
            f"The upload conflicts with the workspace's files{shown}: one path cannot be a "
            "file and a folder at once.",
        ) from None


class WorkspaceStore:
    def __init__(self, store: Store, run_id: str, max_upload_bytes: int) -> None:
        self.store = store
        self.run_id = run_id  # names this server's folder of partial uploads
        self.root = store.folder("workspaces")
        self.root.mkdir(exist_ok=True)
        self.max_upload_bytes = max_upload_bytes

    def create(self, name: str) -> dict[str, Any]:
        workspace_id = new_id()
        created = timestamp(now())
        self.store.execute(
            "INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?)",
            (workspace_id, name, created),
        )
        return {"id": workspace_id, "name": name, "created_at": created}

    def list(self) -> builtins.list[dict[str, Any]]:
        return [present(r) for r in self.store.rows("SELECT * FROM workspaces ORDER BY created_at")]

    def _row(self, workspace_id: str) -> Any:
        if not is_id(workspace_id):
            return None
        return self.store.row("SELECT * FROM workspaces WHERE id = ?", (workspace_id,))

    def get(self, workspace_id: str) -> dict[str, Any]:
        row = self._row(workspace_id)
        if row is None:
            raise not_found("Workspace", workspace_id)
        return present(row)

    def rename(self, workspace_id: str, name: str | None) -> dict[str, Any]:
        self.get(workspace_id)
        if name is not None:
            self.store.execute("UPDATE workspaces SET name = ? WHERE id = ?", (name, workspace_id))
        return self.get(workspace_id)

    def delete(self, workspace_id: str) -> None:
        self.get(workspace_id)
        self.store.execute("DELETE FROM workspaces WHERE id = ?", (workspace_id,))
        shutil.rmtree(self.root / workspace_id, ignore_errors=True)

    def files_root(self, workspace_id: str) -> Path:
        self.get(workspace_id)
        return self.root / workspace_id / "files"

    def tidy_all(self) -> None:
        """At start: drop uploads cut short by servers that are gone, and deleted workspaces.

        Other servers may be running on this data folder: their partial uploads stay, and a
        folder is removed only if its row is still missing when we look again (another
        server may have created the workspace since the list was read).
        """
        known = {row["id"] for row in self.store.rows("SELECT id FROM workspaces")}
        for folder in self.root.iterdir():
            if folder.name in known:
                self._tidy_partial(folder / PARTIAL_FOLDER)
            elif folder.is_dir() and is_id(folder.name) and self._row(folder.name) is None:
                shutil.rmtree(folder, ignore_errors=True)

    def _tidy_partial(self, partial: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            for entry in partial.iterdir():
                if entry.name == self.run_id:
                    continue
                if entry.is_dir() and not entry.is_symlink():
                    if is_id(entry.name) and not run_is_over(self.store, entry.name):
                        continue  # a live server's upload under way
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)  # not a run's folder: nothing writes there

    # -- files ---------------------------------------------------------------------------

    async def upload(
        self,
        workspace_id: str,
        prefix: str | None,
        content_type: str | None,
        content_length: str | None,
        body: AsyncIterator[bytes],
    ) -> builtins.list[dict[str, Any]]:
        root = await asyncio.to_thread(self.files_root, workspace_id)
        prefix_segments = split_path(prefix or "", Where("prefix", "query"), folder=True)
        boundary = multipart_boundary(content_type)
        limit = self.max_upload_bytes
        refuse_declared_size(content_length, limit)
        upload = StreamedUpload(boundary, prefix_segments, limit, self._partial(workspace_id))
        return await self._store(workspace_id, root, upload, body)

    async def put_file(
        self, workspace_id: str, segments: builtins.list[str], size: int, body: AsyncIterator[bytes]
    ) -> dict[str, Any]:
        """One file whose bytes are the whole body (a presigned upload), placed like an
        upload's files: whole or not at all."""
        root = await asyncio.to_thread(self.files_root, workspace_id)
        if size > self.max_upload_bytes:
            raise too_large(self.max_upload_bytes)
        upload = StreamedFile(segments, size, self._partial(workspace_id))
        return (await self._store(workspace_id, root, upload, body))[0]

    def _partial(self, workspace_id: str) -> Path:
        return self.root / workspace_id / PARTIAL_FOLDER / self.run_id

    async def _store(
        self,
        workspace_id: str,
        root: Path,
        upload: StreamedUpload | StreamedFile,
        body: AsyncIterator[bytes],
    ) -> builtins.list[dict[str, Any]]:
        try:
            async for chunk in body:
                await upload.receive(chunk)
            files = await upload.complete()
            # Still there after the upload's time on the wire?
            await asyncio.to_thread(self.get, workspace_id)
            return await asyncio.to_thread(self._place, root, files)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise ApiProblem(507, "The server has no room left for this upload.") from exc
            raise
        finally:
            await asyncio.to_thread(upload.discard)

    def _place(self, root: Path, parts: builtins.list[UploadPart]) -> builtins.list[dict[str, Any]]:
        """Rename finished uploads into place (in a worker thread), all checked first."""
        root.mkdir(parents=True, exist_ok=True)
        return self._move(root, parts, self._targets(root, parts))

    @staticmethod
    def _targets(root: Path, parts: builtins.list[UploadPart]) -> builtins.list[Path]:
        """Where each file goes, its folders made; 409 if something is in the way."""
        where = Where("file", "body")
        targets = []
        with conflicts_are_409(root):
            for part in parts:
                assert part.segments is not None
                target = resolve(root, part.segments, where, make_folders=True)
                if target.is_dir():
                    raise ApiProblem(
                        409, f"{'/'.join(part.segments)!r} is a folder in the workspace"
                    )
                targets.append(target)
        return targets

    @staticmethod
    def _move(
        root: Path, parts: builtins.list[UploadPart], targets: builtins.list[Path]
    ) -> builtins.list[dict[str, Any]]:
        placed = []
        with conflicts_are_409(root):
            for part, target in zip(parts, targets, strict=True):
                assert part.partial is not None
                os.replace(part.partial, target)
                part.partial = None
                fsync_dir(target.parent)
                placed.append(file_entry(target, root))
        return placed

    def list_files(self, workspace_id: str, prefix: str | None) -> builtins.list[dict[str, Any]]:
        """Every file under the prefix folder."""
        root = self.files_root(workspace_id)
        segments = split_path(prefix or "", Where("prefix", "query"), folder=True)
        base = resolve(root, segments, Where("prefix", "query"))
        if not base.is_dir():
            return []
        found = []
        for folder, dirs, files in os.walk(base):
            dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))]
            for name in files:
                path = Path(folder, name)
                if not path.is_symlink() and path.is_file():
                    found.append(file_entry(path, root))
        return sorted(found, key=lambda entry: entry["path"])

    def delete_file(self, workspace_id: str, path: str) -> None:
        """Remove one file; 404 if there is no file at ``path``."""
        target = self.file_path(workspace_id, path, Where("path", "query"))
        target.unlink(missing_ok=True)
        fsync_dir(target.parent)

    def size(self, workspace_id: str) -> int:
        """Total bytes of the workspace's files."""
        return sum(entry["size"] for entry in self.list_files(workspace_id, None))

    def file_path(self, workspace_id: str, path: str, where: Where = IN_PATH) -> Path:
        """The file to download, checked like an upload's path."""
        root = self.files_root(workspace_id)
        target = resolve(root, split_path(path, where, folder=False), where)
        if not target.is_file():
            raise ApiProblem(404, f"File {path!r} not found in workspace {workspace_id!r}")
        return target
