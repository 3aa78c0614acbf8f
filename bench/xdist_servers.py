"""Under pytest-xdist: a server per worker (the embedded default) or one shared by all?

    python bench/xdist_servers.py [--tests 12] [--workers 2] [--rounds 3]

A generated suite of ``--tests`` tests, each a fresh ``remote_browser()`` doing goto + click,
run with ``pytest -n WORKERS`` two ways, alternating round by round; each side's time is the
whole run's wall time:
- own: every worker's embedded default, a server process of its own with one warm browser
  (``PYTEST_XDIST_WORKER_COUNT`` sizes it), as the embedded default does;
- shared: one ``bu-cdp serve --warm WORKERS`` for the run (started inside the timing, as the
  first worker would have to), every worker pointed at it with ``BU_CDP_BASE_URL``.
Informative: the ratio shared / own says which to choose (BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _harness import DATA, interleave, load_line, median_ms, page_server

from tests.support.serving import serve_process

PAGE = (
    b"<!doctype html><title>ready</title><button onclick=\"document.title='clicked'\">go</button>"
)

TEST = """
from bu_cdp import remote_browser

def test_{n}():
    with remote_browser() as page:
        page.goto("{url}")
        page.click("button")
        assert page.title() == "clicked"
"""


def write_suite(folder: Path, tests: int, url: str) -> None:
    (folder / "pytest.ini").write_text("[pytest]\n")
    for n in range(tests):
        (folder / f"test_{n}.py").write_text(TEST.format(n=n, url=url))


def pytest_run(folder: Path, workers: int, env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", str(workers), "-p", "no:cacheprovider"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the suite failed:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tests", type=int, default=12)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    print(load_line("before"))
    with page_server({"/": PAGE}) as base, tempfile.TemporaryDirectory(prefix="bu-xd-") as tmp:
        folder = Path(tmp)
        suite = folder / "suite"
        suite.mkdir()
        write_suite(suite, args.tests, base + "/")
        env = {**os.environ, "TMPDIR": tmp, "BU_CDP_HOME": str(folder / DATA)}
        env["BU_CDP_LEDGER"] = str(folder / "browsers.jsonl")
        for name in ("BROWSER_USE_API_KEY", "BU_CDP_BASE_URL", "BU_CDP_WARM"):
            env.pop(name, None)

        def own() -> float:
            start = time.perf_counter()
            pytest_run(suite, args.workers, env)
            return time.perf_counter() - start

        def shared() -> float:
            start = time.perf_counter()
            with serve_process(
                "--warm", str(args.workers), tmpdir=folder, env={"BU_CDP_HOME": env["BU_CDP_HOME"]}
            ) as served:
                pointed = {**env, "BU_CDP_BASE_URL": served.api_url}
                pytest_run(suite, args.workers, {**pointed, "BROWSER_USE_API_KEY": served.api_key})
            return time.perf_counter() - start

        sides: dict[str, Callable[[], float]] = {"own": own, "shared": shared}
        print(f"xdist_servers: {args.tests} tests, -n {args.workers}, {args.rounds} rounds")
        results = interleave(sides, args.rounds)
    print(load_line("after"))
    for name, values in results.items():
        print(f"  {name}: median {median_ms(values):.0f} ms per run")
    ratio = median_ms(results["shared"]) / median_ms(results["own"])
    print(f"shared / own: {ratio:.3f}x (informative)")


if __name__ == "__main__":
    main()
