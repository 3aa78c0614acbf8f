"""Does recording slow the user's page? The same page workload with and without recording.

    .venv/bin/python bench/recording_overhead.py [--rounds 5] [--iterations 4]

Baseline: a browser created without ``enable_recording``. Each round runs the workload once on
a recorded browser and once on a plain one, in alternating order, side by side on one local
server (in this process, as the embedded default runs: the encoder competes with the user's
own Python code too). The workload, timed from the first navigation to the last evaluate:
navigations between local pages, JavaScript loops (``evaluate``), scrolling a long page and an
animation that keeps the screencast busy. Prints each run and the ratio of the medians
(recorded / plain); the target is at most 1.2.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import Page, sync_playwright

from bu_cdp import BrowserUse
from bu_cdp.server.config import ServerConfig
from bu_cdp.server.thread import ServerThread

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


class _Pages(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = (ANIMATED if self.path.startswith("/animated") else PLAIN).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


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
    total = time.process_time()
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            ours = int(fields[2]) == chromium_pid or (
                int(fields[1]) == os.getpid()
                and b"bu_cdp.server.encoder" in (entry / "cmdline").read_bytes()
            )
            if ours:
                total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            continue
    return total


@dataclass
class Run:
    seconds: float  # the workload's wall time
    cpu: float  # CPU seconds it cost, all processes together
    stop: float  # the stop's wall time (a recorded stop finishes the video)


def run_once(
    server: ServerThread, client: BrowserUse, base: str, iterations: int, record: bool
) -> Run:
    browser = client.browsers.create(enable_recording=record, timeout=10)
    process = server.manager.get(browser.id or "").process
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


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--iterations", type=int, default=2)
    args = parser.parse_args()

    pages = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    threading.Thread(target=pages.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{pages.server_address[1]}"
    config = ServerConfig(api_key=secrets.token_urlsafe(16), port=0)
    runs: dict[bool, list[Run]] = {False: [], True: []}
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with (
        ServerThread(config) as server,
        BrowserUse(base_url=server.base_url, api_key=config.api_key) as client,
    ):
        for round_number in range(args.rounds):
            order = (False, True) if round_number % 2 == 0 else (True, False)
            for record in order:
                runs[record].append(run_once(server, client, base, args.iterations, record))
            plain, recorded = runs[False][-1], runs[True][-1]
            print(
                f"round {round_number + 1:2d}: plain {plain.seconds:5.2f}s ({plain.cpu:5.2f}s CPU),"
                f" recorded {recorded.seconds:5.2f}s ({recorded.cpu:5.2f}s CPU),"
                f" ratio {recorded.seconds / plain.seconds:.2f}"
            )
    pages.shutdown()
    print(f"load average after: {os.getloadavg()[0]:.1f}")

    def median(record: bool, what: str) -> float:
        return statistics.median(getattr(run, what) for run in runs[record])

    paired = statistics.median(
        r.seconds / p.seconds for r, p in zip(runs[True], runs[False], strict=True)
    )
    print(
        f"median workload: plain {median(False, 'seconds'):.2f}s, "
        f"recorded {median(True, 'seconds'):.2f}s"
    )
    print(
        f"median CPU: plain {median(False, 'cpu'):.2f}s, recorded {median(True, 'cpu'):.2f}s, "
        f"ratio {median(True, 'cpu') / median(False, 'cpu'):.2f}"
    )
    print(f"median stop: plain {median(False, 'stop'):.2f}s, recorded {median(True, 'stop'):.2f}s")
    of_medians = median(True, "seconds") / median(False, "seconds")
    print(f"ratio of medians, recorded/plain: {of_medians:.2f}")
    print(f"median of the rounds' ratios:     {paired:.2f}  (target <= 1.2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
