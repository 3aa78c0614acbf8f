"""One upload into a workspace: a multipart body parsed as it streams in, files to disk.

The body is parsed from the request stream as it arrives and each file part is written to a
partial file of its own; nothing of it is held whole in memory. Writes happen in worker
threads, in big pieces. Once the request is complete every partial file is flushed to disk;
the workspace then renames them into place (``WorkspaceStore.upload``), so a file is either absent
or whole. Every file's path is checked as soon as its part's headers arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from bu_cdp.server.shared.problems import ApiProblem, invalid
from bu_cdp.server.storage.store import new_id
from bu_cdp.server.storage.workspace_paths import MAX_PATH_BYTES, Where, split_path

FLUSH_BYTES = 1 << 20  # write to disk (in a worker thread) once this much has arrived
MAX_OTHER_FIELD_BYTES = 64 << 10  # form fields besides ``file`` are read and dropped
MULTIPART_SLACK = 64 << 10  # room for boundaries and part headers around the file bytes
MAX_PARTS = 1000  # parts of one upload request, files and other fields together


def too_large(limit: int) -> ApiProblem:
    return ApiProblem(
        413,
        f"The upload is larger than this server accepts ({limit} bytes; the server's "
        "max_upload_bytes setting, --max-upload-bytes).",
    )


def multipart_boundary(content_type: str | None) -> bytes:
    """The boundary of a ``multipart/form-data`` body; 415 for any other kind of body."""
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise ApiProblem(415, "Upload the file as multipart/form-data, in a field named 'file'.")
    return boundary


def refuse_declared_size(content_length: str | None, limit: int) -> None:
    """413 before reading a byte, when the request says it is too large."""
    with contextlib.suppress(ValueError, TypeError):
        if int(content_length or "") > limit + MULTIPART_SLACK:
            raise too_large(limit)


@dataclass
class UploadPart:
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


class _Parser:
    """Feeds a request stream to python-multipart and collects file parts as they arrive."""

    def __init__(self, boundary: bytes, prefix: list[str], limit: int) -> None:
        self.prefix = prefix
        self.limit = limit
        self.parts: list[UploadPart] = []
        self.file_bytes = 0
        self._files: dict[tuple[str, ...], str] = {}  # the targets so far
        self._folders: dict[tuple[str, ...], str] = {}  # folders they make -> a file in each
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
    def current(self) -> UploadPart:
        return self.parts[-1]

    def _part_begin(self) -> None:
        if len(self.parts) >= MAX_PARTS:
            raise invalid("file", f"an upload may carry at most {MAX_PARTS} parts")
        self.parts.append(UploadPart())

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
        shown = "/".join(part.segments)
        if len(shown.encode()) > MAX_PATH_BYTES:
            raise where.refuse(f"path with the prefix must be at most {MAX_PATH_BYTES} bytes")
        self._claim(tuple(part.segments), shown)

    def _claim(self, target: tuple[str, ...], shown: str) -> None:
        """409 if this file and an earlier one of the request would be a file and a folder."""
        if target in self._files:
            raise ApiProblem(
                409, f"The upload names {shown!r} twice: give each file of one upload its own path"
            )
        folders = [target[:n] for n in range(1, len(target))]
        other = self._folders.get(target)
        if other is None:
            other = next((self._files[f] for f in folders if f in self._files), None)
        if other is not None:
            raise ApiProblem(
                409,
                f"The upload names both {other!r} and {shown!r}: one path cannot be a file "
                "and a folder at once. Upload them in separate requests, or rename one.",
            )
        self._files[target] = shown
        for folder in folders:
            self._folders.setdefault(folder, shown)

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


class StreamedUpload:
    """The files of one upload request, written to ``partial_folder`` as they arrive."""

    def __init__(self, boundary: bytes, prefix: list[str], limit: int, partial_folder: Path):
        self._parser = _Parser(boundary, prefix, limit)
        self._limit = limit
        self._folder = partial_folder
        self._received = 0

    async def receive(self, chunk: bytes) -> None:
        self._received += len(chunk)
        if self._received > self._limit + MULTIPART_SLACK:
            raise too_large(self._limit)
        self._parser.feed(chunk)
        await self._flush(final=False)

    async def complete(self) -> list[UploadPart]:
        """Once the body has ended: every file part, whole and flushed to disk."""
        self._parser.finish()
        await self._flush(final=True)
        files = [part for part in self._parser.parts if part.segments is not None]
        if not files:
            raise invalid("file", "the upload has no 'file' field")
        return files

    def discard(self) -> None:
        """Close and remove what is left of the partial files (in a worker thread)."""
        for part in self._parser.parts:
            _close(part, durable=False)
            if part.partial is not None:
                part.partial.unlink(missing_ok=True)

    async def _flush(self, final: bool) -> None:
        """Write what has arrived of each file part, in a worker thread, in big pieces."""
        for part in self._parser.parts:
            if part.segments is None or part.stored:
                continue
            if part.out is None and (part.pending or part.done):
                part.partial = self._folder / f"{new_id()}.part"
                part.out = await asyncio.to_thread(_open_partial, part.partial)
            if part.pending and (final or part.done or part.pending_bytes >= FLUSH_BYTES):
                await asyncio.to_thread(_write, part)
            if part.done and not part.pending:
                await asyncio.to_thread(_close, part, True)
                part.stored = True


class StreamedFile:
    """One file sent as the whole request body (a presigned ``PUT``): exactly ``size`` bytes,
    written to ``partial_folder`` as they arrive, refused (413) past ``size``."""

    def __init__(self, segments: list[str], size: int, partial_folder: Path) -> None:
        self._part = UploadPart(segments=segments)
        self._size = size
        self._folder = partial_folder

    async def receive(self, chunk: bytes) -> None:
        part = self._part
        part.size += len(chunk)
        if part.size > self._size:
            raise ApiProblem(
                413, f"The body is larger than the {self._size} bytes this upload was made for."
            )
        if part.out is None:
            part.partial = self._folder / f"{new_id()}.part"
            part.out = await asyncio.to_thread(_open_partial, part.partial)
        part.pending.append(chunk)
        part.pending_bytes += len(chunk)
        if part.pending_bytes >= FLUSH_BYTES:
            await asyncio.to_thread(_write, part)

    async def complete(self) -> list[UploadPart]:
        """Once the body has ended: the file, whole and flushed to disk."""
        part = self._part
        if part.size != self._size or part.out is None:
            raise ApiProblem(
                400,
                f"The body has {part.size} bytes; this upload was made for {self._size} bytes.",
            )
        await asyncio.to_thread(_write, part)
        await asyncio.to_thread(_close, part, True)
        part.done = part.stored = True
        return [part]

    def discard(self) -> None:
        _close(self._part, durable=False)
        if self._part.partial is not None:
            self._part.partial.unlink(missing_ok=True)


def _open_partial(path: Path) -> BinaryIO:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("xb")


def _write(part: UploadPart) -> None:
    assert part.out is not None
    for piece in part.pending:
        part.out.write(piece)
    part.pending.clear()
    part.pending_bytes = 0


def _close(part: UploadPart, durable: bool) -> None:
    if part.out is None:
        return
    if durable:
        part.out.flush()
        os.fsync(part.out.fileno())
    part.out.close()
    part.out = None
