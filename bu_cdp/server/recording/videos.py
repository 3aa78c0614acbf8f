"""The finished recordings on disk, and the addresses that serve them.

Videos live in the recordings folder (``ServerConfig.recordings_dir``, by default
``<data folder>/recordings``) as ``{browser_id}.{token}.webm``: the token is the secret in
``recording_url`` (``/recordings/{browser_id}/{token}.webm``), a token of the recording's own,
so sharing a recording never shares a way into a browser. The name carries everything needed
to serve it, so recordings stay reachable after a server restart. A recording in progress is
``{browser_id}.webm.part``: the token is added only when the video is complete, so it never
appears anywhere while the encoder runs (a command line is readable by every local user).

The server never deletes a recording.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from bu_cdp.server.shared.auth import token_matches

VIDEO_SUFFIX = ".webm"
PARTIAL_SUFFIX = ".part"
VIDEO_MEDIA_TYPE = "video/webm"
FOLDER_NAME = "recordings"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def recordings_folder(configured: Path | None, data_dir: Path) -> Path:
    """Where recordings are kept: the configured folder, else ``<data folder>/recordings``."""
    return configured or data_dir / FOLDER_NAME


def recording_path(browser_id: str, token: str) -> str:
    return f"/recordings/{browser_id}/{token}{VIDEO_SUFFIX}"


class RecordingStore:
    """The finished videos on disk, each named by its browser and its secret token."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def new_file(self, browser_id: str) -> Path:
        """The path to write a browser's recording to, until ``publish`` names it."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self.folder / f"{browser_id}{VIDEO_SUFFIX}{PARTIAL_SUFFIX}"

    def publish(self, partial: Path, browser_id: str) -> str:
        """Give a finished recording its secret name; its ``recording_path``."""
        token = secrets.token_urlsafe(24)
        os.replace(partial, self.folder / f"{browser_id}.{token}{VIDEO_SUFFIX}")
        return recording_path(browser_id, token)

    def find(self, browser_id: str) -> tuple[Path, str] | None:
        """The finished recording of a browser and its token, if there is one."""
        if not _SAFE_NAME.match(browser_id) or not self.folder.is_dir():
            return None
        for path in self.folder.glob(f"{browser_id}.*{VIDEO_SUFFIX}"):
            token = path.name[len(browser_id) + 1 : -len(VIDEO_SUFFIX)]
            if _SAFE_NAME.match(token):
                return path, token
        return None

    def open(self, browser_id: str, token: str) -> Path | None:
        """The video behind a recording URL, or None: unknown browser and wrong token alike."""
        found = self.find(browser_id)
        if found is None or not token_matches(token, found[1]):
            return None
        return found[0]

    def url_path(self, browser_id: str) -> str | None:
        """``/recordings/{browser_id}/{token}.webm`` once the recording is finished, else None."""
        found = self.find(browser_id)
        return recording_path(browser_id, found[1]) if found else None
