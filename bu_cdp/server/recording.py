"""Recording a browser's screen to a WebM (VP8) video, from its start to its stop.

With ``enable_recording``, the browser's screencast (``screencast.py``) feeds a video encoder
in a child process (``encoder.py``), so decoding and encoding never hold up the event loop that
relays the user's CDP traffic. Chromium sends frames only when the picture changes, so each
frame is stamped with the wall-clock time it was drawn (pts in milliseconds, variable frame
rate), a still picture is repeated once a second, and the last picture is held until the stop:
the video lasts as long as the browser did.

Finished videos live in the recordings folder as ``{browser_id}.{token}.webm``: the token is
the secret in ``recording_url`` (``/recordings/{browser_id}/{token}.webm``), a token of the
recording's own, so sharing a recording never shares a way into a browser. The name carries
everything needed to serve it, so recordings stay reachable after a server restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import re
import secrets
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bu_cdp.server.auth import token_matches
from bu_cdp.server.browsers import BrowserHooks, ManagedBrowser
from bu_cdp.server.encoder import pack_record, put_newest
from bu_cdp.server.problems import ApiProblem
from bu_cdp.server.screencast import Frame, Screencast, ScreencastHub, Want, scaled_to

log = logging.getLogger("bu_cdp.server")

VIDEO_SUFFIX = ".webm"
VIDEO_MEDIA_TYPE = "video/webm"
# Each picture costs the browser a capture and a JPEG, and the encoder a decode and an encode:
# at most this many a second, at most this many pixels on a side (a 1280x720 window: 960x540).
RECORDING_FPS = 5.0
RECORDING_MAX_SIDE = 960
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


class RecordingStore:
    """The finished videos on disk, each named by its browser and its secret token."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def new_file(self, browser_id: str) -> tuple[Path, str]:
        """A path to write a new recording to (renamed by ``publish``), and its token."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        token = secrets.token_urlsafe(24)
        return self.folder / f"{browser_id}.{token}{VIDEO_SUFFIX}.part", token

    def publish(self, partial: Path) -> Path:
        final = partial.with_name(partial.name.removesuffix(".part"))
        os.replace(partial, final)
        return final

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


def recording_path(browser_id: str, token: str) -> str:
    return f"/recordings/{browser_id}/{token}{VIDEO_SUFFIX}"


class VideoEncoder:
    """Frames in, from the event loop and never blocking; a WebM file out, made by a child
    process (``bu_cdp.server.encoder``) fed through a pipe by a thread of its own.

    If the child falls behind, the oldest waiting frames are dropped, never the newest.
    """

    _END = object()

    def __init__(self, path: Path, size: tuple[int, int], origin: float) -> None:
        self.path = path
        self._queue: queue.Queue[object] = queue.Queue(maxsize=2)
        self._end_time = 0.0
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed by finish()
        command = [sys.executable, "-m", "bu_cdp.server.encoder", str(path)]
        command += [str(size[0]), str(size[1]), repr(origin), str(RECORDING_FPS)]
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=self._errors,
        )
        self._feeder = threading.Thread(target=self._feed, name="bu-cdp-recorder", daemon=True)
        self._feeder.start()

    def push(self, frame: Frame) -> None:
        put_newest(self._queue, frame)

    def finish(self, end_time: float, timeout: float = 60.0) -> bool:
        """End the video at ``end_time`` and wait for the file; True if it is a video.

        Blocks: call it off the event loop.
        """
        self._end_time = end_time
        put_newest(self._queue, self._END)
        self._feeder.join(timeout)
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._errors.seek(0)
        errors = self._errors.read().decode(errors="replace").strip()
        self._errors.close()
        if self._process.returncode != 0:
            log.warning(
                "recording to %s failed (exit %s): %s",
                self.path,
                self._process.returncode,
                errors[-500:],
            )
            return False
        return self.path.exists()

    def _feed(self) -> None:
        pipe = self._process.stdin
        assert pipe is not None
        with contextlib.suppress(OSError):  # the child died: finish() reports it
            while True:
                item = self._queue.get()
                if item is self._END:
                    pipe.write(pack_record(self._end_time))
                    break
                assert isinstance(item, Frame)
                pipe.write(pack_record(item.timestamp, item.jpeg))
                pipe.flush()
        with contextlib.suppress(OSError):
            pipe.close()


@dataclass
class _Recording:
    cast: Screencast
    encoder: VideoEncoder
    token: str


class RecordingHooks(BrowserHooks):
    """Records the browsers created with ``enable_recording`` and publishes ``recording_url``."""

    def __init__(self, hub: ScreencastHub, store: RecordingStore) -> None:
        self.hub = hub
        self.store = store
        self._recordings: dict[str, _Recording] = {}

    def recording(self, browser_id: str) -> bool:
        """Whether this browser is being recorded now."""
        return browser_id in self._recordings

    @staticmethod
    def _want(browser: ManagedBrowser) -> Want:
        return Want(RECORDING_FPS, scaled_to(browser.window, RECORDING_MAX_SIDE))

    async def started(self, browser: ManagedBrowser) -> None:
        if not browser.request.enable_recording:
            return
        assert browser.process is not None
        want = self._want(browser)
        try:
            cast = await self.hub.acquire(browser.id, browser.process.ws_url, want)
        except Exception as exc:
            raise ApiProblem(503, f"Could not start the recording: {exc}") from exc
        try:
            partial, token = self.store.new_file(browser.id)
            # The video covers the browser's whole life, as billed: created_at to stopped_at.
            encoder = VideoEncoder(partial, want.max_size, browser.created_at.timestamp())
        except OSError as exc:  # the recordings folder cannot be written, say
            await self.hub.release(browser.id, want)
            raise ApiProblem(503, f"Could not start the recording: {exc}") from exc
        if cast.last_frame is not None:  # already on screen before we listened
            encoder.push(cast.last_frame)
        cast.add_listener(encoder.push)
        self._recordings[browser.id] = _Recording(cast, encoder, token)

    async def finished(self, browser: ManagedBrowser) -> None:
        recording = self._recordings.pop(browser.id, None)
        if recording is None:
            return
        recording.cast.remove_listener(recording.encoder.push)
        await self.hub.release(browser.id, self._want(browser))
        end = (browser.stopped_at or datetime.now(UTC)).timestamp()
        if await asyncio.to_thread(recording.encoder.finish, end):
            self.store.publish(recording.encoder.path)
            browser.links["recording_url"] = recording_path(browser.id, recording.token)
            log.info("browser %s: recording ready", browser.id)
        else:
            recording.encoder.path.unlink(missing_ok=True)
