"""The stream of frames from the server to a recording's encoder (``encoding_child``): what
both sides need, without the codecs (importing PyAV costs the server's start about 40 ms).

A record is a header ``<dI`` (the wall-clock time the frame was drawn, the JPEG's length) and
the JPEG; a record of length 0 ends the video.
"""

from __future__ import annotations

import contextlib
import queue
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, TypeVar

HEADER = struct.Struct("<dI")

T = TypeVar("T")


@dataclass(frozen=True)
class Record:
    timestamp: float
    jpeg: bytes  # empty: the end


def read_records(source: BinaryIO) -> Iterator[Record]:
    """The records of a stream, until an end record or the end of the stream."""
    while True:
        header = source.read(HEADER.size)
        if len(header) < HEADER.size:
            return
        timestamp, length = HEADER.unpack(header)
        jpeg = source.read(length) if length else b""
        if len(jpeg) < length:
            return
        yield Record(timestamp, jpeg)
        if not length:
            return


def pack_record(timestamp: float, jpeg: bytes = b"") -> bytes:
    return HEADER.pack(timestamp, len(jpeg)) + jpeg


def put_newest(records: queue.Queue[T], item: T) -> None:
    """Put without waiting: when the taker is behind, the oldest waiting item goes."""
    while True:
        try:
            records.put_nowait(item)
            return
        except queue.Full:
            with contextlib.suppress(queue.Empty):
                records.get_nowait()
