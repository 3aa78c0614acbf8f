"""Fail, naming each, on modules over the size limit: lines of code per ``.py`` file under
bu_cdp/ and conftest_plugin/, where a line of code is neither blank nor comment-only
(docstrings count). Run: python tools/module_size.py [--limit N]"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bu_cdp", "conftest_plugin")
LIMIT = 400


def lines_of_code(path: Path) -> int:
    count = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            count += 1
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=LIMIT)
    limit = parser.parse_args().limit
    over = [
        (path.relative_to(ROOT), size)
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if (size := lines_of_code(path)) > limit
    ]
    for path, size in over:
        print(f"{path}: {size} lines of code, over the limit of {limit}")
    if over:
        print(f"{len(over)} module(s) over {limit} lines of code: split them by job")
        return 1
    print(f"every module of {', '.join(PACKAGES)} has at most {limit} lines of code")
    return 0


if __name__ == "__main__":
    sys.exit(main())
