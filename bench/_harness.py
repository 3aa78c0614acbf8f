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
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RunningServer:
    base_url: str
    api_key: str
    tmpdir: Path  # the server's TMPDIR: its browsers' work folders are in here
    metrics: Callable[[], dict[str, object]] = field(repr=False)
    pid: int | None = None  # the server's own process, when it has one

    def cpu_seconds(self) -> float | None:
        """CPU time the server process has used so far (Linux), or None."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, TypeError):
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def direct_ws_url(self) -> str:
        """Chromium's own DevTools address, read from its profile: for baselines only."""
        for port_file in sorted(self.tmpdir.glob("bu-cdp-browser-*/user-data/DevToolsActivePort")):
            lines = port_file.read_text().split("\n")
            return f"ws://127.0.0.1:{int(lines[0])}{lines[1].strip()}"
        raise RuntimeError("no running browser found in the server's work folder")


@contextlib.contextmanager
def serve_subprocess(*flags: str) -> Iterator[RunningServer]:
    """``bu-cdp serve`` as its own process, as a user runs it; stopped with SIGTERM."""
    tmpdir = Path(tempfile.mkdtemp(prefix="bu-cdp-bench-"))
    port = free_port()
    api_key = secrets.token_urlsafe(16)
    command = [
        *(sys.executable, "-m", "bu_cdp.cli", "serve"),
        *("--port", str(port), "--api-key", api_key),
        *flags,
    ]
    env = {**os.environ, "TMPDIR": str(tmpdir)}
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    headers = {"X-Browser-Use-API-Key": api_key}
    try:
        _wait_until_healthy(base, process)
        yield RunningServer(
            base + "/api/v3",
            api_key,
            tmpdir,
            lambda: httpx.get(base + "/api/v3/metrics", headers=headers).json(),
            process.pid,
        )
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(tmpdir, ignore_errors=True)


@contextlib.contextmanager
def serve_thread(**settings: object) -> Iterator[RunningServer]:
    """The server in a thread of this process, as the embedded default runs it."""
    from bu_cdp.server.config import ServerConfig
    from bu_cdp.server.thread import ServerThread

    tmpdir = Path(tempfile.mkdtemp(prefix="bu-cdp-bench-"))
    old_tempdir = tempfile.tempdir
    tempfile.tempdir = str(tmpdir)
    config = ServerConfig(api_key=secrets.token_urlsafe(16), port=0, **settings)  # type: ignore[arg-type]
    try:
        with ServerThread(config) as server:
            headers = {"X-Browser-Use-API-Key": config.api_key}
            yield RunningServer(
                server.base_url,
                config.api_key,
                tmpdir,
                lambda: httpx.get(server.base_url + "/metrics", headers=headers).json(),
            )
    finally:
        tempfile.tempdir = old_tempdir
        shutil.rmtree(tmpdir, ignore_errors=True)


def _wait_until_healthy(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"bu-cdp serve exited with code {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    raise RuntimeError("bu-cdp serve did not become healthy within 30s")


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


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
