"""How commands answer: readable text by default, JSON with --json; progress on stderr."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from typing import IO, Any

from pydantic import BaseModel


def jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    return value


class Output:
    def __init__(self, as_json: bool, stream: IO[str] | None = None) -> None:
        self.as_json = as_json
        self.stream = stream or sys.stdout

    def _print(self, text: str = "") -> None:
        print(text, file=self.stream)

    def record(self, value: Any, fields: Sequence[str] | None = None) -> None:
        """One object: ``key: value`` lines (the given fields first, then any others)."""
        data = jsonable(value)
        if self.as_json:
            self._print(json.dumps(data, indent=2))
            return
        keys = [*(fields or []), *(k for k in data if k not in (fields or []))]
        width = max((len(k) for k in keys if data.get(k) is not None), default=0)
        for key in keys:
            if data.get(key) is not None and not isinstance(data[key], list):
                self._print(f"{key:<{width}}  {data[key]}")

    def table(self, rows: Iterable[Any], columns: Sequence[str]) -> None:
        """Many objects: one line each, in columns."""
        data = [jsonable(row) for row in rows]
        if self.as_json:
            self._print(json.dumps(data, indent=2))
            return
        cells = [
            [str(item.get(c, "") if item.get(c) is not None else "") for c in columns]
            for item in data
        ]
        widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
        self._print(
            "  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()
        )
        for row in cells:
            self._print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
        if not cells:
            self._print("(none)")

    def message(self, text: str, **data: Any) -> None:
        """A sentence for people; with --json, the data behind it."""
        if self.as_json:
            self._print(json.dumps(jsonable(data), indent=2))
        else:
            self._print(text)


class Progress:
    """A one-line progress display on stderr, redrawn in place when stderr is a terminal:
    at each whole percent of ``total``, or, with no total known, each ``STEP_BYTES`` more."""

    STEP_BYTES = 256 * 1024

    def __init__(self, label: str, total: int | None, stream: IO[str] | None = None) -> None:
        self.label = label
        self.total = total
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self._shown = -1

    def update(self, done: int) -> None:
        if not self.live:
            return
        mark = int(100 * done / self.total) if self.total else done // self.STEP_BYTES
        if mark == self._shown:
            return
        self._shown = mark
        amount = f"{_size(done)}" + (f" of {_size(self.total)}" if self.total else "")
        shown = f" {mark:3d}%" if self.total else ""
        self.stream.write(f"\r{self.label}{shown}  {amount}  ")
        self.stream.flush()

    def finish(self, done: int) -> None:
        """The last state, on its own line; on a terminal only, like the rest of the display
        (into a pipe or a log only the answer is written)."""
        if self.live:
            self.stream.write("\r\033[K")
            print(f"{self.label}: {_size(done)}", file=self.stream)


class Waiting:
    """``with Waiting("creating a browser"):`` shows ``creating a browser... 3s`` on stderr,
    redrawn each second and erased when the block ends, when stderr is a terminal; a wait in
    a queue plus a Chromium launch can take a while, and silence looks like a hang. Into a
    pipe or a log it writes nothing: the answer that follows says it all."""

    def __init__(self, label: str, stream: IO[str] | None = None, interval: float = 1.0) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.interval = interval
        self._done = threading.Event()
        self._drawer: threading.Thread | None = None

    def _draw(self) -> None:
        started = time.monotonic()
        while True:
            self.stream.write(f"\r{self.label}... {time.monotonic() - started:.0f}s ")
            self.stream.flush()
            if self._done.wait(self.interval):
                return

    def __enter__(self) -> Waiting:
        if self.stream.isatty():
            self._drawer = threading.Thread(target=self._draw, name="bu-cdp-waiting", daemon=True)
            self._drawer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._drawer is not None:
            self._done.set()
            self._drawer.join()
            self.stream.write("\r\033[K")
            self.stream.flush()


def _size(count: int) -> str:
    value = float(count)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


class ProgressReader:
    """A binary file that reports how much of it has been read (an upload's progress)."""

    def __init__(self, file: IO[bytes], progress: Progress) -> None:
        self._file = file
        self._progress = progress
        self.name = getattr(file, "name", "upload.bin")

    def read(self, size: int = -1) -> bytes:
        chunk = self._file.read(size)
        self._progress.update(self._file.tell())
        return chunk

    def __getattr__(self, name: str) -> Any:  # seek, tell, fileno, close: the file's own
        return getattr(self._file, name)
