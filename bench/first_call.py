"""The first ``remote_browser()`` of a fresh program: the embedded default now, and before.

    python bench/first_call.py [--rounds 7]

Each round starts two fresh Python programs, in turn (who goes first rotates), that time
from before ``import bu_cdp`` to a local page loaded in their first ``remote_browser()``:
- process: the embedded default as it is, a server in a child process started on first use
  (it boots while Playwright starts);
- thread: a server started in the program's own thread first, as the embedded default did
  before (``ServerThread``), then ``remote_browser()`` on it.
Both cold (no warm pool: a script's first browser). Target: process / thread at most 1.00.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from _harness import interleave, load_line, median_ms, page_server, ratio_line

TARGET = 1.00
PAGE = b"<!doctype html><title>ready</title><h1>Hello</h1>"

PROCESS = """
import sys, time
start = time.perf_counter()
from bu_cdp import remote_browser
with remote_browser() as page:
    page.goto(sys.argv[1])
    assert page.title() == "ready"
    print(time.perf_counter() - start)
"""

THREAD = """
import sys, time
start = time.perf_counter()
import secrets
from bu_cdp import remote_browser
from bu_cdp.server.config import ServerConfig
from bu_cdp.server.thread import ServerThread
config = ServerConfig(api_key=secrets.token_urlsafe(24), host="127.0.0.1", port=0)
with ServerThread(config) as server:
    with remote_browser(base_url=server.base_url, api_key=config.api_key) as page:
        page.goto(sys.argv[1])
        assert page.title() == "ready"
        print(time.perf_counter() - start)
"""


def program(script: str, url: str, folder: Path) -> Callable[[], float]:
    env = {**os.environ, "TMPDIR": str(folder), "BU_CDP_HOME": str(folder / "data")}
    env.update(BU_CDP_WARM="0", BU_CDP_LEDGER=str(folder / "browsers.jsonl"))
    for name in ("BROWSER_USE_API_KEY", "BU_CDP_BASE_URL"):
        env.pop(name, None)

    def run() -> float:
        done = subprocess.run(
            [sys.executable, "-c", script, url],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"the program failed: {done.stderr[-2000:]}")
        return float(done.stdout.strip().splitlines()[-1])

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    print(load_line("before"))
    with page_server({"/": PAGE}) as base, tempfile.TemporaryDirectory(prefix="bu-fc-") as tmp:
        url = base + "/"
        sides = {
            "process": program(PROCESS, url, Path(tmp)),
            "thread": program(THREAD, url, Path(tmp)),
        }
        for run in sides.values():
            run()  # the disk cache
        print(f"first_call: import -> first page loaded, fresh program, {args.rounds} rounds")
        results = interleave(sides, args.rounds)
    print(load_line("after"))
    for name, values in results.items():
        print(f"  {name}: median {median_ms(values):.0f} ms")
    print(ratio_line("process / thread", results["process"], results["thread"], TARGET))


if __name__ == "__main__":
    main()
