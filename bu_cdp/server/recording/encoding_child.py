"""The video encoder of a recording: a child process that turns JPEG frames into a WebM file.

    python -m bu_cdp.server.recording.encoding_child OUTPUT WIDTH HEIGHT ORIGIN FPS

A process of its own, not a thread of the server: decoding and encoding hold Python's GIL
between the codec calls, and every such moment delays the server's event loop, which relays
each CDP message of the user's code. It also runs at a lower CPU priority (``nice``), so on a
busy machine the user's page comes first.

Frames arrive on stdin as records: a header ``<dI`` (the wall-clock time the frame was drawn,
the JPEG's length) and the JPEG. A record of length 0 ends the video at its time; so does the
end of stdin (the server went away), at the time of the last frame. Each picture is stamped
relative to ORIGIN in milliseconds (variable frame rate); at most FPS pictures a second are
written, the newest of those that came; a still picture is written again every second; the
last one is held until the end, so the video lasts from ORIGIN to the end.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import sys
import threading
import time
from fractions import Fraction

import av
from av.container import OutputContainer
from av.video.codeccontext import VideoCodecContext
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from bu_cdp.server.recording.frames import Record, put_newest, read_records

CODEC = "libvpx"  # VP8: in every PyAV wheel, played by every browser
VP8_OPTIONS = {"deadline": "realtime", "cpu-used": "16", "lag-in-frames": "0"}  # fastest
BIT_RATE = 1_500_000
KEYFRAME_EVERY = 50  # pictures: a seek never decodes more than a few seconds
STILL_REPEAT_SECONDS = 1.0
NICENESS = 10  # below the user's page, but not so low that a stop waits long for the video
MILLISECONDS = Fraction(1, 1000)


class Encoder:
    """One WebM file, written picture by picture with millisecond timestamps."""

    def __init__(
        self, container: OutputContainer, size: tuple[int, int], origin: float, fps: float
    ) -> None:
        self.width, self.height = (max(2, side - side % 2) for side in size)  # yuv420p: even
        self.origin = origin
        self.container = container
        stream = container.add_stream(CODEC, rate=max(1, round(fps)), options=VP8_OPTIONS)
        assert isinstance(stream, VideoStream)
        stream.width, stream.height = self.width, self.height
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = BIT_RATE
        stream.codec_context.time_base = MILLISECONDS
        stream.codec_context.gop_size = KEYFRAME_EVERY
        self.stream = stream
        decoder = av.CodecContext.create("mjpeg", "r")
        assert isinstance(decoder, VideoCodecContext)
        self.decoder = decoder
        self.picture: VideoFrame | None = None
        self.last_pts = -1
        self.written = 0

    def write(self, at: float, jpeg: bytes | None = None) -> None:
        """Write a new picture (``jpeg``), or the last one again, as shown at ``at``."""
        if jpeg is not None:
            self.picture = self._decode(jpeg) or self.picture
        if self.picture is None:
            return
        # The first picture starts the video; no two pictures share a millisecond.
        pts = 0 if self.last_pts < 0 else max(self.last_pts + 1, round((at - self.origin) * 1000))
        self.picture.pts, self.picture.time_base = pts, MILLISECONDS
        self.container.mux(self.stream.encode(self.picture))
        self.last_pts = pts
        self.written += 1

    def close(self, end: float) -> None:
        """Hold the last picture until ``end`` (black if none ever came), flush the encoder."""
        if self.picture is None:
            self.picture = VideoFrame(self.width, self.height, "yuv420p")
            for plane, value in zip(self.picture.planes, (16, 128, 128), strict=True):
                plane.update(bytes([value]) * plane.buffer_size)
            self.write(self.origin)
        self.write(end)
        self.container.mux(self.stream.encode(None))

    def _decode(self, jpeg: bytes) -> VideoFrame | None:
        try:
            decoded = self.decoder.decode(av.Packet(jpeg))
        except av.FFmpegError as exc:
            print(f"bu-cdp encoder: skipped a frame that did not decode: {exc}", file=sys.stderr)
            return None
        if not decoded:
            return None
        frame = decoded[-1]
        assert isinstance(frame, VideoFrame)
        return frame.reformat(width=self.width, height=self.height, format="yuv420p")


def encode(records: queue.Queue[Record | None], encoder: Encoder, fps: float) -> None:
    """Take records until the end (None: the stream broke off) and write the pictures."""
    interval = 1.0 / fps
    waiting: Record | None = None  # the newest frame, not written yet
    next_write = 0.0  # monotonic time the next picture may be written
    last_time = encoder.origin
    while True:
        wait = STILL_REPEAT_SECONDS if waiting is None else max(0.0, next_write - time.monotonic())
        try:
            record: Record | None = records.get(timeout=wait)
            timed_out = False
        except queue.Empty:
            record, timed_out = None, True
        if not timed_out and (record is None or not record.jpeg):
            end = record.timestamp if record is not None else max(last_time, time.time())
            break
        if record is not None:
            waiting, last_time = record, record.timestamp
        if waiting is not None and time.monotonic() >= next_write:
            encoder.write(waiting.timestamp, waiting.jpeg)
            waiting, next_write = None, time.monotonic() + interval
        elif timed_out and waiting is None:
            encoder.write(time.time())  # nothing changed for a while: repeat the picture
    if waiting is not None:
        encoder.write(waiting.timestamp, waiting.jpeg)
    encoder.close(end)


def main(argv: list[str]) -> int:
    output, width, height, origin, fps = argv
    # A Ctrl-C meant for the server must not cut the video: the server ends it, or stdin does.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Same session as the server, so the same scheduling group (Linux autogroup): niceness
    # then ranks this process below the server, and it adds no group that competes with
    # Chromium for the CPU.
    with contextlib.suppress(OSError, AttributeError):
        os.nice(NICENESS)
    records: queue.Queue[Record | None] = queue.Queue(maxsize=2)

    def read() -> None:
        ended = False
        for record in read_records(sys.stdin.buffer):
            put_newest(records, record)
            ended = not record.jpeg
        if not ended:
            put_newest(records, None)  # the server went away without a word

    threading.Thread(target=read, daemon=True).start()
    with av.open(output, mode="w", format="webm") as container:
        encoder = Encoder(container, (int(width), int(height)), float(origin), float(fps))
        encode(records, encoder, float(fps))
    return 0 if encoder.written else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
