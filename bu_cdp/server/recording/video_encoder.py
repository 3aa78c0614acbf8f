"""The server's side of a recording's encoder: frames in, a WebM file out of a child process.

The child is ``python -m bu_cdp.server.recording.encoding_child`` (see there for why it is a
process and not a thread); a thread of its own feeds it through a pipe, so the event loop
never waits for it.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from bu_cdp.server.recording.frames import pack_record, put_newest
from bu_cdp.server.screen.screencast import Frame

log = logging.getLogger("bu_cdp.server")


class VideoEncoder:
    """Frames in, from the event loop and never blocking; a WebM file out, made by a child
    process (``bu_cdp.server.recording.encoding_child``) fed through a pipe by a thread of its own.

    If the child falls behind, the oldest waiting frames are dropped, never the newest.
    Its command line names only ``path``: nothing secret may go there.
    """

    _END = object()

    def __init__(self, path: Path, size: tuple[int, int], origin: float, fps: float) -> None:
        self.path = path
        self._queue: queue.Queue[object] = queue.Queue(maxsize=2)
        self._end_time = 0.0
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed by finish()
        command = [sys.executable, "-m", "bu_cdp.server.recording.encoding_child", str(path)]
        command += [str(size[0]), str(size[1]), repr(origin), str(fps)]
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=self._errors,
        )
        self._feeder = threading.Thread(target=self._feed, name="bu-cdp-recorder", daemon=True)
        self._feeder.start()

    @property
    def pid(self) -> int:
        return self._process.pid

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
