"""`bu-cdp serve` as its own process: no Chromium outlives it, however it is stopped."""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.processes import live_chromiums
from tests.support.serving import ServedProcess, serve_process
from tests.support.waiting import wait_until


@dataclass
class Served:
    running: ServedProcess

    @property
    def process(self) -> subprocess.Popen[bytes]:
        return self.running.process

    def create(self) -> dict[str, object]:
        answer = httpx.post(
            self.running.api_url + "/browsers",
            json={"timeout": 5},
            headers=self.running.headers,
            timeout=60,
        )
        assert answer.status_code == 200, answer.text
        created: dict[str, object] = answer.json()
        return created

    def pool_ready(self) -> int:
        return int(self.running.metrics()["pool_ready"])


@contextlib.contextmanager
def serve(tmpdir: Path, *flags: str) -> Iterator[Served]:
    """``bu-cdp serve`` with its own TMPDIR, so its browsers' folders can be found."""
    with serve_process(*flags, tmpdir=tmpdir, seconds=30) as running:
        yield Served(running)


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
        wait_until(lambda: served.pool_ready() == 1, 30, "the pool to fill")
        assert len(live_chromiums(str(tmpdir))) >= 2
        served.process.send_signal(signal.SIGKILL)
        served.process.wait(30)
    # The parent-death signal takes each Chromium down with the server; nothing is left.
    wait_until(lambda: not live_chromiums(str(tmpdir)), 20, "every Chromium to die")
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
        wait_until(lambda: served.pool_ready() == 1, 30, "the pool to fill")
        assert live_chromiums(str(tmpdir))
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(30) in (0, -signal.SIGTERM)  # uvicorn re-raises it at exit
    assert not live_chromiums(str(tmpdir))
    assert _folders(tmpdir) == []
