"""The embedded server's log records, carried from its process to the user's ``logging``.

The server process writes one JSON object per record to its stderr, a pipe the user's process
reads in a thread of its own; each line becomes a record of the same logger, at the same level,
there. So the server's words go wherever the program's logging sends bu_cdp's, and nowhere if
it sends them nowhere. A line that is not such an object (a crash's traceback, printed by the
interpreter itself) is passed on as a warning of ``bu_cdp.server``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import IO

SERVER_LOGGER = "bu_cdp.server"


class JsonLines(logging.Handler):
    """In the server process: each record as one line of JSON on ``stream``."""

    def __init__(self, stream: IO[str]) -> None:
        super().__init__()
        self.stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.exc_info:
                message += "\n" + logging.Formatter().formatException(record.exc_info)
            line = json.dumps({"name": record.name, "level": record.levelno, "msg": message})
            self.stream.write(line + "\n")
            self.stream.flush()
        except Exception:
            self.handleError(record)


def send_records(level: int, stream: IO[str]) -> None:
    """In the server process: every record at ``level`` and above goes to ``stream``."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(JsonLines(stream))
    root.setLevel(level)


def forward(lines: Iterable[bytes], prefix: str) -> None:
    """In the user's process: re-emit each line the server wrote, until its stderr closes."""
    for raw in lines:
        text = raw.decode(errors="replace").rstrip("\n")
        if not text:
            continue
        try:
            record = json.loads(text)
            name, level, message = str(record["name"]), int(record["level"]), str(record["msg"])
        except (ValueError, KeyError, TypeError):
            name, level, message = SERVER_LOGGER, logging.WARNING, text
        logger = logging.getLogger(name)
        if logger.isEnabledFor(level):
            logger.log(level, "%s%s", prefix, message)
