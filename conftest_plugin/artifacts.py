"""Where a test's screenshots and traces go: ``<output>/<test id made safe>/``."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

# The plugin writes this file into an output folder it creates, and clears only such folders:
# a folder of the same name made by someone else is never deleted.
OWNER_MARK = ".bu-cdp-output"


def folder_for(output: Path, nodeid: str, retry: int = 0) -> Path:
    """``tests/test_a.py::test_b[x/1]`` -> ``<output>/tests-test_a.py-test_b-x-1``, and
    ``...-retry1`` for its first retry (pytest-rerunfailures), as pytest-playwright names them."""
    safe = re.sub(r"[^A-Za-z0-9_.]+", "-", nodeid).strip("-.")
    if len(safe) > 120:
        safe = f"{safe[:50]}-{hashlib.sha256(nodeid.encode()).hexdigest()[:10]}-{safe[-50:]}"
    return output / (f"{safe}-retry{retry}" if retry > 0 else safe)


def clear_output(output: Path) -> None:
    """Remove the artifacts of an earlier run, if the folder is one the plugin made."""
    if (output / OWNER_MARK).is_file():
        shutil.rmtree(output, ignore_errors=True)


def new_file(output: Path, folder: Path, name: str, index: int) -> Path:
    """Where to write a test's artifact: ``screenshot.png`` for its first browser,
    ``screenshot-2.png`` for its second. Makes the folders (and marks a new output folder)."""
    if not output.exists():
        output.mkdir(parents=True, exist_ok=True)
        (output / OWNER_MARK).touch()
    folder.mkdir(parents=True, exist_ok=True)
    stem, dot, suffix = name.partition(".")
    return folder / (name if index == 0 else f"{stem}-{index + 1}{dot}{suffix}")
