"""The paths a client names inside a workspace, checked before anything touches the disk.

An upload's prefix and file name, a listing prefix, a download: each must stay inside the
workspace, so ``..``, absolute paths, backslashes, NUL and other control characters, drive
letters and symbolic links are refused with a 422 that names the field and the problem.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from bu_cdp.server.shared.names import bidi_control_in
from bu_cdp.server.shared.problems import ApiProblem, invalid

MAX_SEGMENT_BYTES = 255
MAX_PATH_BYTES = 1024
_DRIVE = re.compile(r"^[A-Za-z]:")


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
    if bidi_control_in(text):
        raise where.refuse("must not contain bidirectional override characters")
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
