"""A workspace's files as the hosted document lists them: a path prefix (a plain string, so a
file's own path finds it), ``shallow``, the sub-folders at the prefix, pages with a cursor.

The files come from ``WorkspaceStore.list_files`` (the seed face's listing), sorted by path; the
cursor is the last path of the page, so a page follows on from it even when files change.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from bu_cdp.server.shared.problems import invalid


def encode_cursor(path: str) -> str:
    return base64.urlsafe_b64encode(path.encode()).decode()


def decode_cursor(cursor: str) -> str:
    try:
        return base64.b64decode(cursor.encode("ascii"), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeError, ValueError):
        raise invalid("cursor", "cursor is not one this server gave out", "query") from None


def file_page(
    entries: list[dict[str, Any]], prefix: str, limit: int, cursor: str | None, shallow: bool
) -> dict[str, Any]:
    """A ``FileListResponse`` of the seed listing's ``entries`` (sorted by path)."""
    after = decode_cursor(cursor) if cursor else None
    files, folders = [], set()
    for entry in entries:
        path: str = entry["path"]
        if not path.startswith(prefix):
            continue
        rest = path[len(prefix) :]
        if "/" in rest:
            folders.add(rest.split("/", 1)[0])
            if shallow:
                continue
        if after is None or path > after:
            files.append(entry)
    page, more = files[:limit], len(files) > limit
    return {
        "files": [
            {"path": e["path"], "size": e["size"], "lastModified": e["modified_at"], "url": None}
            for e in page
        ],
        "folders": sorted(folders),
        "nextCursor": encode_cursor(page[-1]["path"]) if more else None,
        "hasMore": more,
    }
