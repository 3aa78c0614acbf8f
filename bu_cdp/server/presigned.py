"""Presigned upload URLs: the hosted face's way to put a file into a workspace.

``POST /workspaces/{id}/files/upload`` declares each file (name, size, content type) and gets
back an ``uploadUrl`` per file; the client then ``PUT``s the bytes there, without the API key,
as it would to S3 on the hosted service. Here the URL is this server's own
(``/uploads/{token}``): the token is unguessable (256 bits), made for one file of the declared
size (never more than the server's upload limit), valid for five API minutes (``UPLOAD_MINUTES``,
so ``minute_seconds`` shortens it in tests) and used once: the first ``PUT`` takes it, whether
its bytes turn out right or not. Grants live in memory: a restarted server forgets them.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

from bu_cdp.server.problems import ApiProblem

UPLOAD_MINUTES = 5  # the hosted document: "Expires after 5 minutes"
UPLOAD_PATH = "/uploads/"


@dataclass(frozen=True)
class UploadGrant:
    workspace_id: str
    segments: list[str]  # where the file goes in the workspace
    size: int
    content_type: str
    expires: float  # time.monotonic()


class PresignedUploads:
    def __init__(self, minute_seconds: float) -> None:
        self.lifetime = UPLOAD_MINUTES * minute_seconds
        self._grants: dict[str, UploadGrant] = {}
        self._lock = threading.Lock()  # granted in worker threads, taken on the event loop

    def grant(self, workspace_id: str, segments: list[str], size: int, content_type: str) -> str:
        """A new token for one file; the URL path is ``UPLOAD_PATH + token``."""
        token = secrets.token_urlsafe(32)
        moment = time.monotonic()
        with self._lock:
            for old in [t for t, g in self._grants.items() if g.expires <= moment]:
                del self._grants[old]  # expired ones would otherwise pile up
            grant = UploadGrant(workspace_id, segments, size, content_type, moment + self.lifetime)
            self._grants[token] = grant
        return token

    def take(self, token: str) -> UploadGrant:
        """The grant of this token, which no later request can use; 404 or 403 otherwise."""
        with self._lock:
            grant = self._grants.pop(token, None)
        if grant is None:
            raise ApiProblem(404, "No upload at this address: it is unknown or already used.")
        if time.monotonic() >= grant.expires:
            raise ApiProblem(
                403, "This upload URL has expired: ask for a new one (they last 5 minutes)."
            )
        return grant
