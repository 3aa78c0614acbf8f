"""Recording a browser's screen to a WebM (VP8) video, from its start to its stop.

With ``enable_recording``, the browser's screencast (``screen.screencast``) feeds a video encoder
in a child process (``video_encoder``, ``encoding_child``), so decoding and encoding never
hold up the event loop that relays the user's CDP traffic. Chromium sends frames only when the
picture changes, so each frame is stamped with the wall-clock time it was drawn (pts in
milliseconds, variable frame rate), a still picture is repeated once a second, and the last
picture is held until the stop: the video lasts as long as the browser did.

Finished videos are kept, and served, by the ``RecordingStore`` (``videos``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from bu_cdp.server.browsers.hooks import BrowserHooks
from bu_cdp.server.browsers.record import ManagedBrowser
from bu_cdp.server.recording.video_encoder import VideoEncoder
from bu_cdp.server.recording.videos import RecordingStore
from bu_cdp.server.screen.screencast import Screencast, ScreencastHub, Want, scaled_to
from bu_cdp.server.shared.problems import ApiProblem

log = logging.getLogger("bu_cdp.server")

# Each picture costs the browser a capture and a JPEG, and the encoder a decode and an encode:
# at most this many a second, at most this many pixels on a side (a 1280x720 window: 960x540).
RECORDING_FPS = 5.0
RECORDING_MAX_SIDE = 960

# RecordingStore is named here too: the app builds the store and the hooks from this module.
__all__ = ["RecordingHooks", "RecordingStore"]


@dataclass
class _Recording:
    cast: Screencast
    encoder: VideoEncoder


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
            cast = await self.hub.acquire(browser.id, browser.process.pipe, want)
        except Exception as exc:
            raise ApiProblem(503, f"Could not start the recording: {exc}") from exc
        try:
            # The video covers the browser's whole life, as billed: created_at to stopped_at.
            encoder = await asyncio.to_thread(
                self._encoder, browser.id, want.max_size, browser.created_at.timestamp()
            )
        except OSError as exc:  # the recordings folder cannot be written, say
            await self.hub.release(browser.id, want)
            raise ApiProblem(503, f"Could not start the recording: {exc}") from exc
        if cast.last_frame is not None:  # already on screen before we listened
            encoder.push(cast.last_frame)
        cast.add_listener(encoder.push)
        self._recordings[browser.id] = _Recording(cast, encoder)

    def _encoder(self, browser_id: str, size: tuple[int, int], origin: float) -> VideoEncoder:
        return VideoEncoder(self.store.new_file(browser_id), size, origin, RECORDING_FPS)

    async def finished(self, browser: ManagedBrowser) -> None:
        recording = self._recordings.pop(browser.id, None)
        if recording is None:
            return
        recording.cast.remove_listener(recording.encoder.push)
        await self.hub.release(browser.id, self._want(browser))
        end = (browser.stopped_at or datetime.now(UTC)).timestamp()
        path = await asyncio.to_thread(self._finish, recording.encoder, browser.id, end)
        if path is not None:
            browser.links["recording_url"] = path
            log.info("browser %s: recording ready", browser.id)

    def _finish(self, encoder: VideoEncoder, browser_id: str, end: float) -> str | None:
        """Close the video and publish it (in a worker thread); its path, or None."""
        if encoder.finish(end):
            return self.store.publish(encoder.path, browser_id)
        encoder.path.unlink(missing_ok=True)
        return None
