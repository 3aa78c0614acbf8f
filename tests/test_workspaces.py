"""Workspaces: streamed uploads (by the server and by the client), listing, size, download,
delete, and paths kept inside."""

from __future__ import annotations

import hashlib
import os
import stat
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from bu_cdp import BrowserUse, errors
from bu_cdp.server.thread import ServerThread
from tests.support.local_api import client_for, key_header
from tests.support.multipart import CONTENT_TYPE, END, part_head
from tests.support.serving import serve_process


def _http(server: ServerThread) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, headers=key_header(server), timeout=60)


def _data(server: ServerThread) -> Path:
    assert server.config.data_dir is not None
    return server.config.data_dir


def _all_files(folder: Path, but: str = "\0") -> set[str]:
    """Files under ``folder``, as relative paths, leaving out those under ``but``."""
    found = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    return {f for f in found if not f.startswith(but)}


@pytest.fixture
def own_server(make_server: Callable[..., ServerThread], tmp_path: Path) -> ServerThread:
    """A server whose data folder the test can look into."""
    return make_server(data_dir=tmp_path / "data", max_upload_bytes=64 * 1024)


def test_upload_list_size_download_and_delete(own_server: ServerThread, tmp_path: Path) -> None:
    report = tmp_path / "report.csv"
    report.write_bytes(b"day,visits\n" + b"monday,12\n" * 2000)
    with client_for(own_server) as client:
        workspace = client.workspaces.create("research")
        assert workspace.name == "research" and workspace.id
        assert [w.id for w in client.workspaces.list()] == [workspace.id]
        assert client.workspaces.update(workspace.id, name="Research").name == "Research"
        assert client.workspaces.get(workspace.id).name == "Research"

        answer = client.workspaces.upload(workspace.id, b"hello", filename="note.txt")
        assert answer["files"][0]["path"] == "note.txt"
        client.workspaces.upload(workspace.id, report, prefix="data/2024")
        client.workspaces.upload(workspace.id, b"v2 of the note", filename="note.txt")  # replaced

        files = client.workspaces.files(workspace.id)
        assert [(f.path, f.size) for f in files] == [
            ("data/2024/report.csv", report.stat().st_size),
            ("note.txt", len(b"v2 of the note")),
        ]
        assert all(f.modified_at is not None for f in files)
        assert [f.path for f in client.workspaces.files(workspace.id, prefix="data/")] == [
            "data/2024/report.csv"
        ]
        assert client.workspaces.files(workspace.id, prefix="nothing-here") == []
        assert client.workspaces.size(workspace.id).bytes == sum(f.size or 0 for f in files)

        downloads = tmp_path / "downloads"
        downloads.mkdir()
        saved = client.workspaces.download(workspace.id, "data/2024/report.csv", downloads)
        assert saved == downloads / "report.csv"
        assert saved.read_bytes() == report.read_bytes()
        umask = os.umask(0o027)
        try:
            note = client.workspaces.download(workspace.id, "note.txt", tmp_path / "mine.txt")
        finally:
            os.umask(umask)
        assert note.read_bytes() == b"v2 of the note"
        assert stat.S_IMODE(note.stat().st_mode) == 0o640  # as open() makes it, not private
        assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []
        with pytest.raises(errors.NotFoundError, match=r"missing\.txt"):
            client.workspaces.download(workspace.id, "missing.txt", tmp_path / "missing.txt")
        assert not (tmp_path / "missing.txt").exists()

        folder = _data(own_server) / "workspaces" / str(workspace.id)
        assert folder.is_dir()
        client.workspaces.delete(workspace.id)
        assert not folder.exists()
        with pytest.raises(errors.NotFoundError):
            client.workspaces.get(workspace.id)
        with pytest.raises(errors.NotFoundError):
            client.workspaces.upload(workspace.id, b"x", filename="x.txt")


def test_an_upload_over_the_limit_gets_413_and_leaves_nothing(own_server: ServerThread) -> None:
    limit = own_server.config.max_upload_bytes
    with client_for(own_server) as client:
        workspace = client.workspaces.create("limits")
        with pytest.raises(errors.PayloadTooLargeError, match="max_upload_bytes"):
            client.workspaces.upload(workspace.id or "", b"x" * (limit * 4), filename="big.bin")

        # Without a Content-Length the server counts as the bytes arrive and stops reading.
        def body() -> Iterator[bytes]:
            yield part_head(b"stream.bin")
            for _ in range(limit // 1024 + 8):
                yield b"y" * 1024

        with _http(own_server) as http:
            answer = http.post(
                f"/workspaces/{workspace.id}/upload",
                content=body(),
                headers=CONTENT_TYPE,
            )
        assert answer.status_code == 413

        # Exactly the limit is fine.
        client.workspaces.upload(workspace.id or "", b"z" * limit, filename="fits.bin")
        assert [f.path for f in client.workspaces.files(workspace.id or "")] == ["fits.bin"]
    folder = _data(own_server) / "workspaces" / str(workspace.id)
    assert _all_files(folder) == {"files/fits.bin"}  # no partial upload left behind


ESCAPES = [
    ("../outside.txt", "'..'"),
    ("a/../../outside.txt", "'..'"),
    ("/etc/outside.txt", "absolute path"),
    ("a\\..\\outside.txt", "backslash"),
    ("a\x00b.txt", "NUL"),
    ("C:outside.txt", "drive letter"),
    ("c:/windows/outside.txt", "drive letter"),
    ("a/./b.txt", "'.'"),
]


@pytest.fixture(scope="module")
def walled_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """One server for every escape attempt; its data folder is ``<base>/data``."""
    from bu_cdp.server.config import ServerConfig

    base = tmp_path_factory.mktemp("walls")
    with ServerThread(ServerConfig(api_key="k", port=0, data_dir=base / "data")) as server:
        yield server


@pytest.mark.parametrize(("name", "problem"), ESCAPES, ids=[e[0] for e in ESCAPES])
def test_paths_that_could_escape_are_refused(
    walled_server: ServerThread, tmp_path: Path, name: str, problem: str
) -> None:
    base = _data(walled_server).parent
    before = _all_files(base, but="data/"), _all_files(tmp_path)
    with client_for(walled_server) as client, _http(walled_server) as http:
        workspace_id = client.workspaces.create("walls").id or ""
        upload = f"/workspaces/{workspace_id}/upload"

        as_prefix = http.post(upload, params={"prefix": name}, files={"file": ("f.txt", b"x")})
        assert as_prefix.status_code == 422, as_prefix.text
        assert as_prefix.json()["detail"][0]["loc"] == ["query", "prefix"]
        assert problem in as_prefix.json()["detail"][0]["msg"]

        as_name = http.post(
            upload,
            content=part_head(name.encode()) + b"x" + END,
            headers=CONTENT_TYPE,
        )
        assert as_name.status_code == 422, as_name.text
        assert as_name.json()["detail"][0]["loc"] == ["body", "file"]
        assert problem in as_name.json()["detail"][0]["msg"]

        as_listing = http.get(f"/workspaces/{workspace_id}/files", params={"prefix": name})
        assert as_listing.status_code == 422 and problem in as_listing.text

        with pytest.raises(errors.UnprocessableEntityError, match=problem):
            client.workspaces.download(workspace_id, name, tmp_path / "got")
        assert client.workspaces.files(workspace_id) == []
    after = _all_files(base, but="data/"), _all_files(tmp_path)
    assert after == before, "something was written outside the workspace"


def test_symbolic_links_inside_a_workspace_are_not_followed(
    own_server: ServerThread, tmp_path: Path
) -> None:
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "key.txt").write_text("do not read")
    with client_for(own_server) as client:
        workspace_id = client.workspaces.create("links").id or ""
        client.workspaces.upload(workspace_id, b"ok", filename="plain.txt")
        files = _data(own_server) / "workspaces" / workspace_id / "files"
        os.symlink(secret, files / "door")

        with pytest.raises(errors.UnprocessableEntityError, match="symbolic link"):
            client.workspaces.upload(workspace_id, b"in", filename="x.txt", prefix="door")
        with pytest.raises(errors.UnprocessableEntityError, match="symbolic link"):
            client.workspaces.download(workspace_id, "door/key.txt", tmp_path / "stolen")
        with pytest.raises(errors.UnprocessableEntityError, match="symbolic link"):
            client.workspaces.files(workspace_id, prefix="door")
        assert [f.path for f in client.workspaces.files(workspace_id)] == ["plain.txt"]
        assert client.workspaces.size(workspace_id).bytes == 2
    assert sorted(p.name for p in secret.iterdir()) == ["key.txt"]
    assert not (tmp_path / "stolen").exists()


def test_an_upload_streams_to_disk_without_being_held_in_memory(
    make_server: Callable[..., ServerThread], tmp_path: Path
) -> None:
    size, chunk = 24 << 20, 64 << 10
    server = make_server(data_dir=tmp_path / "data")
    with client_for(server) as client:
        workspace_id = client.workspaces.create("big").id or ""

    def body() -> Iterator[bytes]:
        yield part_head(b"big.bin")
        block = b"\xab" * chunk
        for _ in range(size // chunk):
            yield block
        yield END

    tracemalloc.start()  # counts every Python allocation, the server thread's included
    try:
        with _http(server) as http:
            answer = http.post(
                f"/workspaces/{workspace_id}/upload",
                content=body(),
                headers=CONTENT_TYPE,
            )
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert answer.status_code == 200, answer.text
    assert answer.json()["files"][0]["size"] == size
    assert peak < size / 4, f"the server held {peak} bytes of a {size}-byte upload"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def test_the_client_streams_a_large_path_or_file_object_without_reading_it_whole(
    tmp_path: Path,
) -> None:
    size, chunk = 48 << 20, 1 << 20
    big = tmp_path / "big.bin"
    with big.open("wb") as out:  # written a block at a time, each block its own
        for n in range(size // chunk):
            out.write(n.to_bytes(4, "big") * (chunk // 4))
    data_dir = tmp_path / "data"
    # The server in a process of its own: tracemalloc then counts the client's memory alone.
    with serve_process("--data-dir", str(data_dir), tmpdir=tmp_path) as served:
        with BrowserUse(base_url=served.api_url, api_key=served.api_key) as client:
            workspace_id = client.workspaces.create("big").id or ""
            client.workspaces.upload(workspace_id, b"warm", filename="warm.txt")  # imports
            peaks: dict[str, int] = {}
            tracemalloc.start()
            try:
                with big.open("rb") as stream:
                    answer = client.workspaces.upload(workspace_id, stream, prefix="object")
                peaks["file object"] = tracemalloc.get_traced_memory()[1]
                tracemalloc.reset_peak()
                client.workspaces.upload(workspace_id, big, prefix="path")
                peaks["path"] = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            first = answer["files"][0]
            assert (first["path"], first["size"]) == ("object/big.bin", size)
            files = client.workspaces.files(workspace_id)
            assert [(f.path, f.size) for f in files] == [
                ("object/big.bin", size),
                ("path/big.bin", size),
                ("warm.txt", 4),
            ]
            assert client.workspaces.size(workspace_id).bytes == 2 * size + 4
    for where, peak in peaks.items():
        assert peak < 8 << 20, f"the client held {peak} bytes of a {size}-byte {where} upload"
    stored = data_dir / "workspaces" / workspace_id / "files"
    for name in ("object", "path"):
        assert _sha256(stored / name / "big.bin") == _sha256(big)  # every byte, in order
