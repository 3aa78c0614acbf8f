"""A workspace survives a SIGKILL of its server: every file whole, an upload cut short gone."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from bu_cdp import BrowserUse

BOUNDARY = "b0undary"


def _until(check: Callable[[], bool], what: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


@dataclass
class _Served:
    process: subprocess.Popen[bytes]
    client: BrowserUse
    api: str  # the API's base URL
    key: str


@contextlib.contextmanager
def _serve(data: Path, log: Path) -> Iterator[_Served]:
    """``bu-cdp serve`` on the data folder, as its own process, and a client for it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    key = secrets.token_urlsafe(16)
    command = [sys.executable, "-m", "bu_cdp.cli", "serve", "--port", str(port)]
    command += ["--api-key", key, "--data-dir", str(data)]
    with log.open("ab") as errors:
        process = subprocess.Popen(command, stderr=errors)
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert process.poll() is None, f"bu-cdp serve exited with {process.returncode}"
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(base + "/health", timeout=1).status_code == 200
        return False

    try:
        _until(healthy, "bu-cdp serve to answer /health")
        with BrowserUse(base_url=base + "/api/v3", api_key=key) as client:
            yield _Served(process, client, base + "/api/v3", key)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(30)


def _contents(client: BrowserUse, workspace_id: str, into: Path) -> dict[str, tuple[int, bytes]]:
    """Every file of the workspace: its listed size and its downloaded bytes."""
    into.mkdir()
    found = {}
    for entry in client.workspaces.files(workspace_id):
        path = entry.path or ""
        saved = client.workspaces.download(workspace_id, path, into / path.replace("/", "_"))
        found[path] = (entry.size or 0, saved.read_bytes())
    return found


def test_a_workspace_is_intact_after_its_server_is_killed(tmp_path: Path) -> None:
    data, log = tmp_path / "data", tmp_path / "serve.log"
    report = os.urandom(3 << 20)  # a few MiB: written in several pieces
    with _serve(data, log) as served:
        client = served.client
        workspace_id = client.workspaces.create("kept").id or ""
        client.workspaces.upload(workspace_id, report, filename="report.bin", prefix="2024/q1")
        client.workspaces.upload(workspace_id, b"first", filename="note.txt")
        client.workspaces.upload(workspace_id, b"second, replacing", filename="note.txt")
        before = _contents(client, workspace_id, tmp_path / "before")

        # An upload under way when the server dies: half of it is on the disk.
        halfway = threading.Event()

        def body() -> Iterator[bytes]:
            yield (
                f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=file; "
                'filename="cut-short.bin"\r\n\r\n'
            ).encode()
            yield b"c" * 100_000
            halfway.wait(60)

        def upload() -> None:
            with contextlib.suppress(httpx.HTTPError):
                httpx.post(
                    f"{served.api}/workspaces/{workspace_id}/upload",
                    content=body(),
                    headers={
                        "X-Browser-Use-API-Key": served.key,
                        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                    },
                    timeout=60,
                )

        uploading = threading.Thread(target=upload)
        uploading.start()
        partial = data / "workspaces" / workspace_id / "partial"
        _until(lambda: any(partial.rglob("*.part")), "the upload to reach the disk")
        served.process.send_signal(signal.SIGKILL)
        served.process.wait(30)
        halfway.set()
        uploading.join(60)
    assert any(partial.rglob("*.part"))  # a killed server cannot clean up ...

    with _serve(data, log) as served:
        client = served.client
        assert [w.id for w in client.workspaces.list()] == [workspace_id]
        after = _contents(client, workspace_id, tmp_path / "after")
        assert not any(partial.rglob("*.part"))  # ... the next one does, its run being over
    assert after == before
    assert before["2024/q1/report.bin"] == (len(report), report)
    assert before["note.txt"] == (len(b"second, replacing"), b"second, replacing")
