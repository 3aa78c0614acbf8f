"""Presigned URLs of the hosted face: uploads into a workspace, and downloads out of one.

On the hosted service these are S3's; here they are this server's own addresses, with the
permission in an unguessable token (256 bits) instead of the API key:

- ``POST /workspaces/{id}/files/upload`` declares each file (name, size, content type) and
  answers an ``uploadUrl`` (``/uploads/{token}``) per file. The token is made for one file of
  the declared size (never more than the server's upload limit), lasts five API minutes
  (``UPLOAD_MINUTES``; ``minute_seconds`` shortens it in tests) and is used once: the first
  ``PUT`` takes it, whether its bytes turn out right or not.
- ``GET /workspaces/{id}/files?includeUrls=true`` gives each file a ``url``
  (``/files/{token}``) that reads it for one API minute, as often as wanted.

Grants live in memory: a restarted server forgets them.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from typing import Generic, TypeVar

from bu_cdp.server.shared.problems import ApiProblem

UPLOAD_MINUTES = 5  # the hosted document: "Expires after 5 minutes"
DOWNLOAD_MINUTES = 1  # the hosted document: "60s expiry"
UPLOAD_PATH = "/uploads/"
DOWNLOAD_PATH = "/files/"

T = TypeVar("T")


@dataclass(frozen=True)
class UploadGrant:
    workspace_id: str
    segments: list[str]  # where the file goes in the workspace
    size: int
    content_type: str


@dataclass(frozen=True)
class DownloadGrant:
    workspace_id: str
    path: str


class Grants(Generic[T]):
    """What each token lets its holder do, until it expires."""

    def __init__(self, lifetime: float, what: str) -> None:
        self.lifetime = lifetime
        self.what = what  # "upload" or "download", for the refusals
        self._grants: dict[str, tuple[T, float]] = {}  # token -> (grant, expiry)
        self._lock = threading.Lock()  # granted in worker threads, used on the event loop

    def grant(self, item: T) -> str:
        token = secrets.token_urlsafe(32)
        moment = time.monotonic()
        with self._lock:
            for old in [t for t, (_, ends) in self._grants.items() if ends <= moment]:
                del self._grants[old]  # expired ones would otherwise pile up
            self._grants[token] = (item, moment + self.lifetime)
        return token

    def take(self, token: str) -> T:
        """The grant, which no later request can use (uploads); 404 or 403 otherwise."""
        with self._lock:
            found = self._grants.pop(token, None)
        return self._valid(found)

    def read(self, token: str) -> T:
        """The grant, left for later requests until it expires (downloads)."""
        with self._lock:
            found = self._grants.get(token)
        return self._valid(found)

    def _valid(self, found: tuple[T, float] | None) -> T:
        if found is None:
            raise ApiProblem(404, f"No {self.what} at this address: it is unknown or already used.")
        item, ends = found
        if time.monotonic() >= ends:
            raise ApiProblem(403, f"This {self.what} URL has expired: ask for a new one.")
        return item


class PresignedUrls:
    def __init__(self, minute_seconds: float) -> None:
        self.uploads = Grants[UploadGrant](UPLOAD_MINUTES * minute_seconds, "upload")
        self.downloads = Grants[DownloadGrant](DOWNLOAD_MINUTES * minute_seconds, "download")
