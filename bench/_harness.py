"""What the benchmarks share: a real server (subprocess or thread), timing, A/B reporting.

Benchmarks compare two ways of doing the same thing on the same machine in the same run,
interleaving their rounds so that noise from other work hits both sides alike, and print
the ratio of the medians. Absolute times on a shared 2-core machine mean little.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

# The test suite's parts (serving, /proc) are the benchmarks' too: the repository's root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from tests.support import processes
from tests.support.serving import serve_process

if TYPE_CHECKING:
    from bu_cdp.server.thread import ServerThread

DATA = "data"  # a server's data folder (BU_CDP_HOME), inside its benchmark's own temp folder


@dataclass
class RunningServer:
    base_url: str
    api_key: str
    tmpdir: Path  # the server's TMPDIR: its browsers' work folders are in here
    metrics: Callable[[], dict[str, Any]] = field(repr=False)
    pid: int | None = None  # the server's own process, when it has one
    thread: ServerThread | None = None  # the server, when it runs in this process

    def cpu_seconds(self) -> float | None:
        """CPU time the server process has used so far (Linux), or None."""
        process = processes.read(self.pid) if self.pid is not None else None
        return process.cpu_seconds if process is not None else None


@contextlib.contextmanager
def _own_folder() -> Iterator[Path]:
    """A temp folder for one server, removed at the end: its data folder and its browsers'
    work folders go in here, never in the user's data folder. Short: Chromium puts a unix
    socket in it."""
    folder = Path(tempfile.mkdtemp(prefix="bu-cdp-bench-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def direct_chromium() -> Iterator[str]:
    """A Chromium of the benchmark's own, with the server's flags but a DevTools *port*:
    the baseline a relay is measured against (the server's Chromiums have no port). Yields
    its browser websocket address; killed, and its folder removed, on leaving."""
    from bu_cdp.server.chromium.launch import LaunchPlan, find_chromium, kill_group

    with _own_folder() as folder:
        plan = LaunchPlan(find_chromium(), folder / "user-data", folder / "chromium.log")
        argv = [arg for arg in plan.argv() if arg != "--remote-debugging-pipe"]
        argv.insert(-1, "--remote-debugging-port=0")  # before the start URL
        with plan.log_path.open("ab") as log:
            process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
            )
        try:
            port_file = plan.user_data_dir / "DevToolsActivePort"
            deadline = time.monotonic() + 30
            while not (port_file.exists() and len(port_file.read_text().split("\n")) >= 2):
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"the baseline Chromium did not start ({plan.log_path})")
                time.sleep(0.02)
            lines = port_file.read_text().split("\n")
            yield f"ws://127.0.0.1:{int(lines[0])}{lines[1].strip()}"
        finally:
            kill_group(process.pid)
            process.wait()


@contextlib.contextmanager
def serve_subprocess(*flags: str) -> Iterator[RunningServer]:
    """``bu-cdp serve`` as its own process, as a user runs it; stopped with SIGTERM."""
    with (
        _own_folder() as tmpdir,
        serve_process(*flags, tmpdir=tmpdir, env={"BU_CDP_HOME": str(tmpdir / DATA)}) as served,
    ):
        yield RunningServer(
            served.api_url, served.api_key, tmpdir, served.metrics, served.process.pid
        )


@contextlib.contextmanager
def serve_thread(**settings: Any) -> Iterator[RunningServer]:
    """The server in a thread of this process, as the embedded default runs it."""
    from bu_cdp.server.config import ServerConfig
    from bu_cdp.server.thread import ServerThread

    with _own_folder() as tmpdir:
        old_tempdir = tempfile.tempdir
        tempfile.tempdir = str(tmpdir)  # the browsers' work folders
        config = ServerConfig(
            api_key=secrets.token_urlsafe(16), port=0, data_dir=tmpdir / DATA, **settings
        )
        try:
            with ServerThread(config) as server:
                headers = {"X-Browser-Use-API-Key": config.api_key}
                yield RunningServer(
                    server.base_url,
                    config.api_key,
                    tmpdir,
                    lambda: httpx.get(server.base_url + "/metrics", headers=headers).json(),
                    thread=server,
                )
        finally:
            tempfile.tempdir = old_tempdir


@contextlib.contextmanager
def serve_embedded(warm: int = 0) -> Iterator[RunningServer]:
    """The embedded default as a program gets it (a child process), with ``warm`` browsers
    kept ready; its folders in a temp folder of its own, stopped at the end."""
    from bu_cdp.embedded import embedded_server, stop_embedded_server

    with _own_folder() as tmpdir:
        wanted = {"TMPDIR": str(tmpdir), "BU_CDP_HOME": str(tmpdir / DATA)}
        wanted["BU_CDP_WARM"] = str(warm)
        saved = {name: os.environ.get(name) for name in wanted}
        os.environ.update(wanted)  # the child takes this process's environment at its start
        try:
            server = embedded_server()
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        try:
            server.wait_ready()
            headers = {"X-Browser-Use-API-Key": server.api_key}
            yield RunningServer(
                server.base_url,
                server.api_key,
                tmpdir,
                lambda: httpx.get(server.base_url + "/metrics", headers=headers).json(),
                pid=server.process.pid if server.process else None,
            )
        finally:
            stop_embedded_server()


class _Pages(ThreadingHTTPServer):
    daemon_threads = True
    pages: Mapping[str, bytes]

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a browser closed mid-request (its favicon): not the benchmark's business


class _Page(BaseHTTPRequestHandler):
    server: _Pages

    def do_GET(self) -> None:
        body = self.server.pages.get(urlsplit(self.path).path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def page_server(pages: Mapping[str, bytes]) -> Iterator[str]:
    """Local pages (there is no internet here), by path, queries ignored; the base URL."""
    server = _Pages(("127.0.0.1", 0), _Page)
    server.pages = pages
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def load_line(when: str) -> str:
    """The machine's load: the figures mean little when it is far above its cores."""
    one, five, _ = os.getloadavg()
    return f"load average {when}: {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def interleave(
    sides: dict[str, Callable[[], float]], rounds: int, log: Callable[[str], None] = print
) -> dict[str, list[float]]:
    """Run each side once per round, rotating who goes first; each side returns its seconds."""
    names = list(sides)
    results: dict[str, list[float]] = {name: [] for name in names}
    for index in range(rounds):
        order = names[index % len(names) :] + names[: index % len(names)]
        row = []
        for name in order:
            seconds = sides[name]()
            results[name].append(seconds)
            row.append(f"{name}={seconds * 1000:.1f}ms")
        log(f"  round {index + 1}/{rounds}: " + "  ".join(row))
    return results


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def ratio_line(name: str, measured: list[float], baseline: list[float], target: float) -> str:
    ratio = statistics.median(measured) / statistics.median(baseline)
    verdict = "meets" if ratio <= target else "MISSES"
    return f"{name}: {ratio:.3f}x (target <= {target:.2f}x: {verdict})"
