"""Workspaces: named folders of files on the server, filled by streamed uploads.

On disk, ``workspaces/<id>/files/`` holds the files and ``workspaces/<id>/partial/`` the
uploads under way. An upload is parsed from the request stream as it arrives and written to a
partial file; nothing of it is held whole in memory. Once the request is complete the partial
file is flushed and renamed into place, so a file is either absent or whole.

Every path a client names (an upload's prefix and file name, a listing prefix, a download) is
checked before anything touches the disk: it must stay inside the workspace, so ``..``,
absolute paths, backslashes, NUL and other control characters, drive letters and symbolic links
are refused with a 422 that names the problem.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import errno
import os
import re
import shutil
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from bu_cdp.server.disk import fsync_dir
from bu_cdp.server.problems import ApiProblem, invalid, not_found
from bu_cdp.server.store import Store, is_id, new_id, now, timestamp

MAX_SEGMENT_BYTES = 255
MAX_PATH_BYTES = 1024
FLUSH_BYTES = 1 << 20  # write to disk (in a worker thread) once this much has arrived
MAX_OTHER_FIELD_BYTES = 64 << 10  # form fields besides ``file`` are read and dropped
MULTIPART_SLACK = 64 << 10  # room for boundaries and part headers around the file bytes
MAX_PARTS = 1000  # parts of one upload request, files and other fields together
_DRIVE = re.compile(r"^[A-Za-z]:")


def present(row: Any) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "created_at": row["created_at"]}


# -- paths ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Where:
    """Which part of the request a path came from, for the 422 that names it."""

    field: str
    location: str  # "query", "body" or "path"

    def refuse(self, problem: str) -> ApiProblem:
        return invalid(self.field, f"{self.field} {problem}", self.location)


def split_path(text: str, where: Where, *, folder: bool) -> list[str]:
    """The segments of a relative path inside a workspace, or a 422 naming what is wrong.

    ``folder`` paths (prefixes) may be empty and may end with ``/``; file paths may not.
    """
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError:
        raise where.refuse("must be valid Unicode text") from None
    if "\x00" in text:
        raise where.refuse("must not contain a NUL character")
    if "\\" in text:
        raise where.refuse("must not contain a backslash ('\\'); separate folders with '/'")
    if _DRIVE.match(text):
        raise where.refuse(f"must not start with a drive letter ({text[:2]!r})")
    if text.startswith("/"):
        raise where.refuse("must be relative to the workspace, not an absolute path")
    if any(unicodedata.category(char) == "Cc" for char in text):
        raise where.refuse("must not contain control characters")
    if len(encoded) > MAX_PATH_BYTES:
        raise where.refuse(f"must be at most {MAX_PATH_BYTES} bytes long")
    if folder and text.endswith("/"):
        text = text[:-1]
    if not text:
        if folder:
            return []
        raise where.refuse("must not be empty")
    segments = text.split("/")
    for segment in segments:
        if segment == "..":
            raise where.refuse("must not contain '..': paths stay inside the workspace")
        if segment in ("", "."):
            raise where.refuse("must not contain empty or '.' segments ('//', '/./')")
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise where.refuse(f"has a name longer than {MAX_SEGMENT_BYTES} bytes")
    return segments


def resolve(root: Path, segments: list[str], where: Where, *, make_folders: bool = False) -> Path:
    """``root``/segments, refusing symbolic links on the way and files used as folders."""
    current = root
    for index, segment in enumerate(segments):
        current = current / segment
        shown = "/".join(segments[: index + 1])
        if current.is_symlink():
            raise where.refuse(f"goes through a symbolic link ({shown!r}); links are not followed")
        if index < len(segments) - 1:
            if current.exists() and not current.is_dir():
                raise ApiProblem(409, f"{shown!r} is a file, so it cannot hold other files")
            if make_folders and not current.exists():
                current.mkdir(exist_ok=True)
    real_root = os.path.realpath(root)
    if os.path.commonpath([real_root, os.path.realpath(current)]) != real_root:
        raise where.refuse("leads outside the workspace")  # belt and braces
    return current


# -- uploads -------------------------------------------------------------------------------


@dataclass
class _Part:
    """One part of a multipart body as it streams past."""

    headers: dict[str, bytes] = field(default_factory=dict)
    name: str = ""
    segments: list[str] | None = None  # set for a ``file`` part: where it goes
    partial: Path | None = None
    out: BinaryIO | None = None
    pending: list[bytes] = field(default_factory=list)
    pending_bytes: int = 0
    size: int = 0
    done: bool = False  # all its bytes have arrived
    stored: bool = False  # all its bytes are on disk, in ``partial``


class _UploadParser:
    """Feeds a request stream to python-multipart and collects file parts as they arrive."""

    def __init__(self, boundary: bytes, prefix: list[str], limit: int) -> None:
        self.prefix = prefix
        self.limit = limit
        self.parts: list[_Part] = []
        self.file_bytes = 0
        self._field = b""
        self._value = b""
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
            },
        )

    def feed(self, chunk: bytes) -> None:
        try:
            self._parser.write(chunk)
        except FormParserError as exc:
            raise invalid("file", f"the body is not valid multipart/form-data: {exc}") from None

    def finish(self) -> None:
        self._parser.finalize()
        if not self.parts:
            raise invalid("file", "the upload has no 'file' field")
        if not all(part.done for part in self.parts):
            raise invalid("file", "the upload ended before its last part was complete")

    @property
    def current(self) -> _Part:
        return self.parts[-1]

    def _part_begin(self) -> None:
        if len(self.parts) >= MAX_PARTS:
            raise invalid("file", f"an upload may carry at most {MAX_PARTS} parts")
        self.parts.append(_Part())

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self.current.headers[self._field.decode("latin-1").lower()] = self._value
        self._field = self._value = b""

    def _headers_finished(self) -> None:
        part = self.current
        _kind, options = parse_options_header(part.headers.get("content-disposition", b""))
        part.name = options.get(b"name", b"").decode("latin-1")
        if part.name != "file":
            return
        raw = options.get(b"filename")
        if raw is None:
            raise invalid("file", "file must be a file upload (a part with a filename)")
        try:
            filename = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise invalid("file", "file's name must be UTF-8") from None
        where = Where("file", "body")
        part.segments = self.prefix + split_path(filename, where, folder=False)
        if len("/".join(part.segments).encode()) > MAX_PATH_BYTES:
            raise where.refuse(f"path with the prefix must be at most {MAX_PATH_BYTES} bytes")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        part = self.current
        size = end - start
        part.size += size
        if part.segments is None:
            if part.size > MAX_OTHER_FIELD_BYTES:
                raise invalid(part.name or "file", "form fields besides 'file' must be small")
            return
        self.file_bytes += size
        if self.file_bytes > self.limit:
            raise too_large(self.limit)
        part.pending.append(data[start:end])
        part.pending_bytes += size

    def _part_end(self) -> None:
        self.current.done = True


def too_large(limit: int) -> ApiProblem:
    return ApiProblem(
        413,
        f"The upload is larger than this server accepts ({limit} bytes; the server's "
        "max_upload_bytes setting, --max-upload-bytes).",
    )


def _write(part: _Part) -> None:
    assert part.out is not None
    for piece in part.pending:
        part.out.write(piece)
    part.pending.clear()
    part.pending_bytes = 0


def _close(part: _Part, durable: bool) -> None:
    if part.out is None:
        return
    if durable:
        part.out.flush()
        os.fsync(part.out.fileno())
    part.out.close()
    part.out = None


def file_entry(path: Path, root: Path) -> dict[str, Any]:
    info = path.stat()
    return {
        "path": path.relative_to(root).as_posix(),
        "size": info.st_size,
        "modified_at": datetime.fromtimestamp(info.st_mtime, UTC).isoformat(),
    }


# -- the workspaces --------------------------------------------------------------------------


class Workspaces:
    def __init__(self, store: Store, max_upload_bytes: int) -> None:
        self.store = store
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

    def get(self, workspace_id: str) -> dict[str, Any]:
        row = None
        if is_id(workspace_id):
            row = self.store.row("SELECT * FROM workspaces WHERE id = ?", (workspace_id,))
        if row is None:
            raise not_found("Workspace", workspace_id)
        return present(row)

    def rename(self, workspace_id: str, name: str | None) -> dict[str, Any]:
        self.get(workspace_id)
        if name is not None:
            self.store.execute("UPDATE workspaces SET name = ? WHERE id = ?", (name, workspace_id))
        return self.get(workspace_id)

    async def delete(self, workspace_id: str) -> None:
        self.get(workspace_id)
        self.store.execute("DELETE FROM workspaces WHERE id = ?", (workspace_id,))
        await asyncio.to_thread(shutil.rmtree, self.root / workspace_id, True)

    def files_root(self, workspace_id: str) -> Path:
        self.get(workspace_id)
        return self.root / workspace_id / "files"

    def tidy_all(self) -> None:
        """At start: drop uploads a crash cut short and folders of deleted workspaces."""
        known = {row["id"] for row in self.store.rows("SELECT id FROM workspaces")}
        for folder in self.root.iterdir():
            if folder.name in known:
                shutil.rmtree(folder / "partial", ignore_errors=True)
            elif folder.is_dir() and is_id(folder.name):
                # Created before its row? Rows come first (create), so this is a deleted one.
                shutil.rmtree(folder, ignore_errors=True)

    # -- files ---------------------------------------------------------------------------

    async def upload(
        self,
        workspace_id: str,
        prefix: str | None,
        content_type: str | None,
        content_length: str | None,
        body: AsyncIterator[bytes],
    ) -> builtins.list[dict[str, Any]]:
        root = self.files_root(workspace_id)
        prefix_segments = split_path(prefix or "", Where("prefix", "query"), folder=True)
        kind, options = parse_options_header(content_type)
        boundary = options.get(b"boundary")
        if kind != b"multipart/form-data" or not boundary:
            raise ApiProblem(
                415, "Upload the file as multipart/form-data, in a field named 'file'."
            )
        limit = self.max_upload_bytes
        with contextlib.suppress(ValueError, TypeError):
            if int(content_length or "") > limit + MULTIPART_SLACK:
                raise too_large(limit)  # before reading a byte of it
        partial_folder = self.root / workspace_id / "partial"
        parser = _UploadParser(boundary, prefix_segments, limit)
        try:
            received = 0
            async for chunk in body:
                received += len(chunk)
                if received > limit + MULTIPART_SLACK:
                    raise too_large(limit)
                parser.feed(chunk)
                await self._flush(parser, partial_folder, final=False)
            parser.finish()
            await self._flush(parser, partial_folder, final=True)
            files = [part for part in parser.parts if part.segments is not None]
            if not files:
                raise invalid("file", "the upload has no 'file' field")
            self.get(workspace_id)  # still there after the upload's time on the wire
            return await asyncio.to_thread(self._place, root, files)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise ApiProblem(507, "The server has no room left for this upload.") from exc
            raise
        finally:
            await asyncio.to_thread(self._discard, parser.parts)

    async def _flush(self, parser: _UploadParser, partial_folder: Path, final: bool) -> None:
        """Write what has arrived of each file part, in a worker thread, in big pieces."""
        for part in parser.parts:
            if part.segments is None or part.stored:
                continue
            if part.out is None and (part.pending or part.done):
                part.partial = partial_folder / f"{new_id()}.part"
                part.out = await asyncio.to_thread(_open_partial, part.partial)
            if part.pending and (final or part.done or part.pending_bytes >= FLUSH_BYTES):
                await asyncio.to_thread(_write, part)
            if part.done and not part.pending:
                await asyncio.to_thread(_close, part, True)
                part.stored = True

    def _place(self, root: Path, parts: builtins.list[_Part]) -> builtins.list[dict[str, Any]]:
        """Rename finished uploads into place (in a worker thread), all checked first."""
        where = Where("file", "body")
        root.mkdir(parents=True, exist_ok=True)
        targets = []
        for part in parts:
            assert part.segments is not None
            target = resolve(root, part.segments, where, make_folders=True)
            if target.is_dir():
                raise ApiProblem(409, f"{'/'.join(part.segments)!r} is a folder in the workspace")
            targets.append(target)
        placed = []
        for part, target in zip(parts, targets, strict=True):
            assert part.partial is not None
            os.replace(part.partial, target)
            part.partial = None
            fsync_dir(target.parent)
            placed.append(file_entry(target, root))
        return placed

    @staticmethod
    def _discard(parts: builtins.list[_Part]) -> None:
        for part in parts:
            _close(part, durable=False)
            if part.partial is not None:
                part.partial.unlink(missing_ok=True)

    def list_files(self, workspace_id: str, prefix: str | None) -> builtins.list[dict[str, Any]]:
        """Every file under the prefix folder (in a worker thread)."""
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

    def size(self, workspace_id: str) -> int:
        """Total bytes of the workspace's files (in a worker thread)."""
        return sum(entry["size"] for entry in self.list_files(workspace_id, None))

    def file_path(self, workspace_id: str, path: str) -> Path:
        """The file to download, checked like an upload's path."""
        root = self.files_root(workspace_id)
        where = Where("path", "path")
        target = resolve(root, split_path(path, where, folder=False), where)
        if not target.is_file():
            raise ApiProblem(404, f"File {path!r} not found in workspace {workspace_id!r}")
        return target


def _open_partial(path: Path) -> BinaryIO:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("xb")
