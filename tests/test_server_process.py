"""`bu-cdp serve` as its own process: no Chromium outlives it, however it is stopped."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.processes import live_chromiums
from tests.test_server_lifecycle import wait_until


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    base: str
    headers: dict[str, str]

    def create(self) -> dict[str, object]:
        answer = httpx.post(
            self.base + "/api/v3/browsers", json={"timeout": 5}, headers=self.headers, timeout=60
        )
        assert answer.status_code == 200, answer.text
        created: dict[str, object] = answer.json()
        return created

    def pool_ready(self) -> int:
        metrics = httpx.get(self.base + "/api/v3/metrics", headers=self.headers).json()
        return int(metrics["pool_ready"])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def serve(tmpdir: Path, *flags: str) -> Iterator[Served]:
    """``bu-cdp serve`` with its own TMPDIR, so its browsers' folders can be found."""
    port, key = _free_port(), secrets.token_urlsafe(16)
    command = [sys.executable, "-m", "bu_cdp.cli", "serve", "--port", str(port), "--api-key", key]
    log = (tmpdir / "serve.log").open("wb")
    process = subprocess.Popen(
        [*command, *flags], env={**os.environ, "TMPDIR": str(tmpdir)}, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert process.poll() is None, f"bu-cdp serve exited with {process.returncode}"
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(base + "/health", timeout=1).status_code == 200
        return False

    try:
        wait_until(healthy, "bu-cdp serve to answer /health")
        yield Served(process, base, {"X-Browser-Use-API-Key": key})
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(30)
        log.close()


def _folders(tmpdir: Path) -> list[Path]:
    return sorted(tmpdir.glob("bu-cdp-browser-*"))


@pytest.fixture
def tmpdir() -> Iterator[Path]:
    """A TMPDIR for one server; short, as Chromium puts a unix socket in it (108 bytes max)."""
    path = Path(tempfile.mkdtemp(prefix="srv-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_sigkilled_server_leaves_no_chromium_and_the_next_one_sweeps_its_folders(
    tmpdir: Path,
) -> None:
    with serve(tmpdir, "--warm", "1") as served:
        served.create()
        wait_until(lambda: served.pool_ready() == 1, "the pool to fill")
        assert len(live_chromiums(str(tmpdir))) >= 2
        served.process.send_signal(signal.SIGKILL)
        served.process.wait(30)
    # The parent-death signal takes each Chromium down with the server; nothing is left.
    wait_until(lambda: not live_chromiums(str(tmpdir)), "every Chromium to die", timeout=20)
    assert len(_folders(tmpdir)) == 2  # a killed server cannot clean up after itself ...

    with serve(tmpdir) as served:
        assert _folders(tmpdir) == []  # ... the next one does, before it answers
        served.create()
        assert len(_folders(tmpdir)) == 1
        served.process.send_signal(signal.SIGINT)  # Ctrl-C
        assert served.process.wait(30) in (0, 130)  # it ends by itself, cleaning up first
    assert not live_chromiums(str(tmpdir))
    assert _folders(tmpdir) == []


def test_sigterm_stops_the_pooled_chromiums_too(tmpdir: Path) -> None:
    with serve(tmpdir, "--warm", "1") as served:
        wait_until(lambda: served.pool_ready() == 1, "the pool to fill")
        assert live_chromiums(str(tmpdir))
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(30) in (0, -signal.SIGTERM)  # uvicorn re-raises it at exit
    assert not live_chromiums(str(tmpdir))
    assert _folders(tmpdir) == []
