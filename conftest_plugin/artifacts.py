"""What a test leaves behind: screenshots, traces, and the browser's addresses in its report.

The Playwright steps are procedures (``bu_cdp._effects``), so one definition serves the sync
and the async fixtures. Files go to ``<output>/<test id made safe>/``.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path
from typing import Any

from bu_cdp._effects import Call, Procedure

# The plugin writes this file into an output folder it creates, and clears only such folders:
# a folder of the same name made by someone else is never deleted.
OWNER_MARK = ".bu-cdp-output"


def folder_for(output: Path, nodeid: str) -> Path:
    """``tests/test_a.py::test_b[x-1]`` -> ``<output>/tests-test_a-py-test_b-x-1``."""
    safe = re.sub(r"[^A-Za-z0-9_.]+", "-", nodeid).strip("-.")
    if len(safe) > 120:
        safe = f"{safe[:50]}-{hashlib.sha256(nodeid.encode()).hexdigest()[:10]}-{safe[-50:]}"
    return output / safe


def prepare_output(output: Path) -> None:
    if not output.exists():
        output.mkdir(parents=True)
        (output / OWNER_MARK).touch()


def clear_output(output: Path) -> None:
    """Remove the artifacts of an earlier run, if the folder is one the plugin made."""
    if (output / OWNER_MARK).is_file():
        shutil.rmtree(output, ignore_errors=True)


def numbered(folder: Path, stem: str, suffix: str, index: int) -> Path:
    """``screenshot.png`` for a test's first browser, ``screenshot-2.png`` for its second."""
    return folder / (f"{stem}{suffix}" if index == 0 else f"{stem}-{index + 1}{suffix}")


def open_context(browser: Any, screen: tuple[int, int] | None) -> Procedure[tuple[Any, Any]]:
    """A fresh context and page on a reused browser, sized like the browser's screen."""
    viewport = {"viewport": {"width": screen[0], "height": screen[1]}} if screen else {}
    context = yield Call(browser, "new_context", kwargs=viewport)
    page = yield Call(context, "new_page")
    return context, page


def start_tracing(context: Any) -> Procedure[None]:
    yield Call(context.tracing, "start", kwargs={"screenshots": True, "snapshots": True})


def stop_tracing(context: Any, path: Path | None) -> Procedure[None]:
    """Stop tracing; save the trace only when given a path."""
    yield Call(context.tracing, "stop", kwargs={"path": str(path)} if path else {})


def take_screenshot(page: Any, path: Path) -> Procedure[None]:
    yield Call(page, "screenshot", kwargs={"path": str(path), "timeout": 10_000})


def close_context(context: Any) -> Procedure[None]:
    yield Call(context, "close")
