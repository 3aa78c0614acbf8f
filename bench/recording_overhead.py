"""Does recording slow the user's page? The same page workload with and without recording.

    .venv/bin/python bench/recording_overhead.py [--rounds 10] [--iterations 2]

Baseline: a browser created without ``enable_recording``. Each round runs the workload once on
a recorded browser and once on a plain one (who goes first alternates), side by side on one
local server in this process (as the embedded default ran before it had a process of its
own: the harsher case, where the encoder competes with the user's own Python code too).
The workload, timed from the first navigation to the last evaluate: navigations between
local pages, JavaScript loops (``evaluate``), scrolling a long page and an animation that
keeps the screencast busy. Creating and stopping are not timed.
Prints each round, the CPU time it cost, and the ratio of the medians (recorded / plain).
Target: at most 1.2.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from _harness import (
    RunningServer,
    interleave,
    load_line,
    median_ms,
    page_server,
    ratio_line,
    serve_thread,
)
from playwright.sync_api import Page, sync_playwright

from bu_cdp import BrowserUse
from tests.support.processes import scan

TARGET = 1.2
ENCODER = (
    "bu_cdp.server.recording.encoding_child"  # in the command line of a recording's encoder process
)

ANIMATED = """<!doctype html><title>animated</title>
<style>
  body { margin: 0; font: 18px sans-serif; }
  .box { position: fixed; top: 40px; width: 120px; height: 120px; background: #3451b2;
         animation: slide 1.2s ease-in-out infinite alternate; }
  @keyframes slide { from { left: 0 } to { left: 900px } }
  section { height: 600px; padding: 20px; border-bottom: 1px solid #ccc; }
</style>
<div class="box"></div>
<canvas id="c" width="400" height="200" style="position:fixed;bottom:0;right:0"></canvas>
<script>
  const ctx = document.getElementById("c").getContext("2d");
  (function draw(t) {
    ctx.fillStyle = `hsl(${(t / 10) % 360}, 70%, 50%)`;
    ctx.fillRect(0, 0, 400, 200);
    requestAnimationFrame(draw);
  })(0);
  for (let i = 0; i < 30; i++) {
    const s = document.createElement("section");
    s.textContent = "Section " + i + " " + "lorem ipsum ".repeat(80);
    document.body.appendChild(s);
  }
</script>"""

PLAIN = "<!doctype html><title>plain</title><h1>A plain page</h1>" + "<p>text</p>" * 200

WORK_JS = """() => {
  let x = 0;
  for (let i = 0; i < 3e6; i++) x = (x * 31 + i) % 1000003;
  return x;
}"""


def workload(page: Page, base: str, iterations: int) -> float:
    started = time.perf_counter()
    for i in range(iterations):
        page.goto(f"{base}/animated?{i}")
        for _ in range(3):
            page.evaluate(WORK_JS)
        for _ in range(20):
            page.evaluate("window.scrollBy(0, 250)")
            page.evaluate("new Promise(r => requestAnimationFrame(() => r()))")
        page.goto(f"{base}/plain?{i}")
        page.evaluate(WORK_JS)
    return time.perf_counter() - started


def cpu_seconds(chromium_pid: int) -> float:
    """CPU time so far of everything recording could add to (Linux): the browser's Chromium
    processes (one process group), this process (the server and the client), and its
    encoder children."""
    ours = [
        p.cpu_seconds
        for p in scan()
        if p.pgid == chromium_pid or (p.ppid == os.getpid() and ENCODER in p.command)
    ]
    return time.process_time() + sum(ours)


@dataclass
class Run:
    seconds: float  # the workload's wall time
    cpu: float  # CPU seconds it cost, all processes together
    stop: float  # the stop's wall time (a recorded stop finishes the video)


def run_once(
    server: RunningServer, client: BrowserUse, base: str, iterations: int, record: bool
) -> Run:
    assert server.thread is not None  # the server runs in this process
    browser = client.browsers.create(enable_recording=record, timeout=10)
    process = server.thread.manager.get(browser.id or "").process
    assert process is not None
    try:
        with sync_playwright() as pw:
            cdp = pw.chromium.connect_over_cdp(browser.cdp_url or "")
            page = cdp.contexts[0].pages[0]
            page.goto(f"{base}/plain?warmup")
            cpu_before = cpu_seconds(process.pid)
            seconds = workload(page, base, iterations)
            cpu = cpu_seconds(process.pid) - cpu_before
            cdp.close()
    finally:
        stop_started = time.perf_counter()
        client.browsers.stop(browser.id or "")
        stop_seconds = time.perf_counter() - stop_started
    recorded = client.browsers.get(browser.id or "").recording_url is not None
    assert recorded == record, "a recording must exist exactly when asked for"
    return Run(seconds, cpu, stop_seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--iterations", type=int, default=2)
    args = parser.parse_args()

    runs: dict[str, list[Run]] = {"plain": [], "recorded": []}
    print(load_line("before"))
    with (
        page_server({"/animated": ANIMATED.encode(), "/plain": PLAIN.encode()}) as base,
        serve_thread() as server,
        BrowserUse(base_url=server.base_url, api_key=server.api_key) as client,
    ):

        def side(name: str) -> Callable[[], float]:
            def run() -> float:
                runs[name].append(run_once(server, client, base, args.iterations, name != "plain"))
                return runs[name][-1].seconds

            return run

        sides = {"plain": side("plain"), "recorded": side("recorded")}
        for run in sides.values():
            run()  # warm up the disk cache, the imports and the encoder of each side
        for name in runs:
            runs[name].clear()
        print(f"recording_overhead: {args.iterations} workload iterations, {args.rounds} rounds")
        results = interleave(sides, args.rounds)
    print(load_line("after"))

    def median(name: str, what: str) -> float:
        return statistics.median(getattr(run, what) for run in runs[name])

    for name, values in results.items():
        print(
            f"  {name}: median {median_ms(values):.0f} ms,"
            f" CPU {median(name, 'cpu'):.2f} s, stop {median(name, 'stop'):.2f} s"
        )
    cpu_ratio = median("recorded", "cpu") / median("plain", "cpu")
    print(f"  CPU time, recorded / plain: {cpu_ratio:.3f}x (informative, no target)")
    print(ratio_line("recorded / plain", results["recorded"], results["plain"], TARGET))


if __name__ == "__main__":
    main()
