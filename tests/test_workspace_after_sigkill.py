"""A workspace survives a SIGKILL of its server: every file whole, an upload cut short gone."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx

from bu_cdp import BrowserUse
from tests.support.multipart import CONTENT_TYPE, part_head
from tests.support.serving import serve_process
from tests.support.waiting import wait_until


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
    data = tmp_path / "data"
    report = os.urandom(3 << 20)  # a few MiB: written in several pieces
    with (
        serve_process("--data-dir", str(data), tmpdir=tmp_path) as served,
        BrowserUse(**served.api) as client,
    ):
        workspace_id = client.workspaces.create("kept").id or ""
        client.workspaces.upload(workspace_id, report, filename="report.bin", prefix="2024/q1")
        client.workspaces.upload(workspace_id, b"first", filename="note.txt")
        client.workspaces.upload(workspace_id, b"second, replacing", filename="note.txt")
        before = _contents(client, workspace_id, tmp_path / "before")

        # An upload under way when the server dies: half of it is on the disk.
        halfway = threading.Event()

        def body() -> Iterator[bytes]:
            yield part_head("cut-short.bin")
            yield b"c" * 100_000
            halfway.wait(60)

        def upload() -> None:
            with contextlib.suppress(httpx.HTTPError):
                httpx.post(
                    f"{served.api_url}/workspaces/{workspace_id}/upload",
                    content=body(),
                    headers={**served.headers, **CONTENT_TYPE},
                    timeout=60,
                )

        uploading = threading.Thread(target=upload)
        uploading.start()
        partial = data / "workspaces" / workspace_id / "partial"
        wait_until(lambda: any(partial.rglob("*.part")), 60.0, "the upload to reach the disk")
        served.process.send_signal(signal.SIGKILL)
        served.process.wait(30)
        halfway.set()
        uploading.join(60)
    assert any(partial.rglob("*.part"))  # a killed server cannot clean up ...

    with (
        serve_process("--data-dir", str(data), tmpdir=tmp_path) as served,
        BrowserUse(**served.api) as client,
    ):
        assert [w.id for w in client.workspaces.list()] == [workspace_id]
        after = _contents(client, workspace_id, tmp_path / "after")
        assert not any(partial.rglob("*.part"))  # ... the next one does, its run being over
    assert after == before
    assert before["2024/q1/report.bin"] == (len(report), report)
    assert before["note.txt"] == (len(b"second, replacing"), b"second, replacing")
