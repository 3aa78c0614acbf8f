"""Name what a run left in folders that should be empty after it: CI's leftover check.

    python3 .ci/leftovers.py FOLDER...

Exit status 1, and one line per leftover, if anything is left in a FOLDER (its private
TMPDIR, its BU_CDP_HOME). Something kept on purpose says so: a file ``NAME.kept`` beside it,
holding why, makes NAME (and the note) no leftover; the reason is printed. Standard library
only: CI runs it with the machine's python3, outside the project's environment.
"""

from __future__ import annotations

import sys
from pathlib import Path

SHOWN = 30  # lines of leftovers printed; the count of the rest follows


def _size(path: Path) -> str:
    if not path.is_dir() or path.is_symlink():
        return "a file"
    count = sum(1 for p in path.rglob("*") if not p.is_dir())
    return f"a folder, {count} file(s) in it"


def leftovers(folder: Path, depth: int = 2) -> tuple[list[str], list[str]]:
    """What is left in ``folder`` (each as a line saying what it is), and what is kept on
    purpose (each with its reason); sub-folders are named one by one ``depth`` levels down
    (a test run's own temporary folder, then what is in it), and summed up below that."""
    left: list[str] = []
    kept: list[str] = []
    if not folder.is_dir():
        return left, kept
    entries = sorted(folder.iterdir())
    notes = {p.with_suffix("") for p in entries if p.suffix == ".kept"}
    for path in entries:
        if path.suffix == ".kept" and path.with_suffix("") in notes:
            continue
        if path in notes:
            why = " ".join(path.with_name(path.name + ".kept").read_text().split())
            kept.append(f"{path} ({why or 'no reason given'})")
        elif path.is_dir() and not path.is_symlink() and not any(path.iterdir()):
            left.append(f"{path} (an empty folder)")
        elif path.is_dir() and not path.is_symlink() and depth > 1:
            inner, inner_kept = leftovers(path, depth - 1)
            left.extend(inner)
            kept.extend(inner_kept)
        else:
            left.append(f"{path} ({_size(path)})")
    return left, kept


def main(folders: list[str]) -> int:
    found: list[str] = []
    for folder in map(Path, folders):
        left, kept = leftovers(folder)
        for line in kept:
            print(f"kept on purpose: {line}")
        found.extend(left)
    for line in found[:SHOWN]:
        print(f"left behind: {line}", file=sys.stderr)
    if len(found) > SHOWN:
        print(f"left behind: ... and {len(found) - SHOWN} more", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
