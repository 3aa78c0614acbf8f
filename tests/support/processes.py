"""Finding the Chromium processes this test run started (live ones: zombies hold nothing)."""

from __future__ import annotations

import os
from pathlib import Path

MARKER = "bu-cdp-browser-"  # in the --user-data-dir of every Chromium the server starts


def live_chromiums(marker: str = MARKER) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in cmdline and state != "Z" and int(entry.name) != os.getpid():
            found.append(int(entry.name))
    return found
