"""Presigned uploads on the hosted face: the URL is this server's own, takes exactly the bytes
declared, once, within its five API minutes, and refuses everything else in the hosted shape."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from bu_cdp.server.api.presigned import UPLOAD_MINUTES
from bu_cdp.server.thread import ServerThread
from tests.support.local_api import key_header
from tests.test_hosted_browsers import call


def _workspace(server: ServerThread) -> str:
    made = call(server, "POST", "/workspaces", json={"name": "uploads"})
    assert made.status_code == 201, made.text
    workspace_id: str = made.json()["id"]
    return workspace_id


def _upload_url(server: ServerThread, workspace_id: str, **item: Any) -> str:
    files = [{"name": "data.csv", "contentType": "text/csv", "size": 5, **item}]
    answer = call(server, "POST", f"/workspaces/{workspace_id}/files/upload", json={"files": files})
    assert answer.status_code == 200, answer.text
    url: str = answer.json()["files"][0]["uploadUrl"]
    return url


def _paths(server: ServerThread, workspace_id: str) -> list[str]:
    listed = call(server, "GET", f"/workspaces/{workspace_id}/files").json()
    return [entry["path"] for entry in listed["files"]]


def _stream(*pieces: bytes) -> Callable[[], Iterator[bytes]]:
    """A body sent chunked, with no Content-Length: the server counts the bytes itself."""
    return lambda: iter(pieces)


def test_an_upload_url_takes_the_declared_bytes_once(server: ServerThread) -> None:
    workspace_id = _workspace(server)
    url = _upload_url(server, workspace_id)
    assert url.startswith(server.base_url.removesuffix("/api/v3") + "/uploads/")
    put = httpx.put(url, content=b"a,b\n1", headers={"Content-Type": "text/csv"})  # no key
    assert put.status_code == 200, put.text
    assert _paths(server, workspace_id) == ["data.csv"]
    saved = httpx.get(
        f"{server.base_url}/workspaces/{workspace_id}/files/data.csv", headers=key_header(server)
    )
    assert saved.content == b"a,b\n1"
    again = httpx.put(url, content=b"other", headers={"Content-Type": "text/csv"})
    assert again.status_code == 404
    assert "already used" in again.json()["detail"]


def test_a_guessed_token_opens_nothing(server: ServerThread) -> None:
    workspace_id = _workspace(server)
    url = _upload_url(server, workspace_id)
    guessed = url[:-4] + ("AAAA" if not url.endswith("AAAA") else "BBBB")
    answer = httpx.put(guessed, content=b"a,b\n1", headers=key_header(server))
    assert answer.status_code == 404
    assert _paths(server, workspace_id) == []


@pytest.mark.parametrize(
    ("body", "headers", "status", "words"),
    [
        (b"a,b\n1,2", {}, 400, "Content-Length is 7"),  # declared by the request
        (_stream(b"a,b", b"\n1,2"), {}, 413, "larger than the 5 bytes"),  # counted
        (_stream(b"a,b"), {}, 400, "has 3 bytes"),
        (b"a,b\n1", {"Content-Type": "text/html"}, 400, "Content-Type"),
    ],
)
def test_an_upload_of_other_bytes_is_refused_and_leaves_nothing(
    server: ServerThread, body: Any, headers: dict[str, str], status: int, words: str
) -> None:
    workspace_id = _workspace(server)
    url = _upload_url(server, workspace_id)
    content = body() if callable(body) else body
    answer = httpx.put(url, content=content, headers=headers)
    assert answer.status_code == status, answer.text
    assert words in answer.json()["detail"]
    assert _paths(server, workspace_id) == []
    partial = server.app.state.persistence.workspaces.root / workspace_id / "partial"
    assert not [p for p in partial.rglob("*") if p.is_file()]


def test_an_upload_url_expires(make_server: Callable[..., ServerThread]) -> None:
    minute = 0.02  # TEST SETTING: an API minute of 20 ms, so the URL lasts 0.1 s
    server = make_server(minute_seconds=minute)
    workspace_id = _workspace(server)
    url = _upload_url(server, workspace_id)
    time.sleep(UPLOAD_MINUTES * minute * 3)
    answer = httpx.put(url, content=b"a,b\n1", headers={"Content-Type": "text/csv"})
    assert answer.status_code == 403
    assert "expired" in answer.json()["detail"]  # before it is used, so not as "used"
    assert _paths(server, workspace_id) == []


def test_no_url_for_more_than_the_server_accepts(make_server: Callable[..., ServerThread]) -> None:
    server = make_server(max_upload_bytes=1000)
    workspace_id = _workspace(server)
    files = [{"name": "big.bin", "size": 1001}]
    answer = call(server, "POST", f"/workspaces/{workspace_id}/files/upload", json={"files": files})
    assert answer.status_code == 413
    assert "1000 bytes" in answer.json()["detail"]


@pytest.mark.parametrize(
    ("files", "prefix", "field"),
    [
        ([{"name": "a.csv"}], "", "files.0.size"),
        ([{"name": "../a.csv", "size": 3}], "", "name"),
        ([{"name": "a.csv", "size": 3}], "../up/", "prefix"),
        ([{"name": "a.csv", "size": 0}], "", "size"),
        ([], "", "files"),
        ([{"name": "a.csv", "size": 3, "colour": "red"}], "", "colour"),
    ],
)
def test_bad_upload_requests_name_the_field(
    server: ServerThread, files: list[dict[str, Any]], prefix: str, field: str
) -> None:
    workspace_id = _workspace(server)
    answer = call(
        server,
        "POST",
        f"/workspaces/{workspace_id}/files/upload",
        json={"files": files},
        params={"prefix": prefix},
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"][-1] == field


def _uploaded(server: ServerThread) -> str:
    """A workspace holding data.csv, put there through the seed face; its id."""
    workspace_id = _workspace(server)
    httpx.post(
        f"{server.base_url}/workspaces/{workspace_id}/upload",
        files={"file": ("data.csv", b"a,b\n1")},
        headers=key_header(server),
    ).raise_for_status()
    return workspace_id


def _download_url(server: ServerThread, workspace_id: str) -> str:
    base = f"/workspaces/{workspace_id}/files"
    assert call(server, "GET", base).json()["files"][0]["url"] is None  # only when asked
    listed = call(server, "GET", base, params={"includeUrls": "true"}).json()
    url: str = listed["files"][0]["url"]
    return url


def test_download_urls_read_a_file(server: ServerThread) -> None:
    download = _download_url(server, _uploaded(server))
    for _ in range(2):  # as often as wanted while it lasts
        read = httpx.get(download)  # no key: the token is the permission
        assert read.status_code == 200 and read.content == b"a,b\n1"
    assert (
        httpx.get(download[:-4] + ("AAAA" if not download.endswith("AAAA") else "BBBB")).status_code
        == 404
    )


def test_download_urls_expire(make_server: Callable[..., ServerThread]) -> None:
    minute = 0.002  # TEST SETTING: an API minute of 2 ms, so a download URL lasts 2 ms
    server = make_server(minute_seconds=minute)
    download = _download_url(server, _uploaded(server))
    time.sleep(minute * 10)
    expired = httpx.get(download)
    assert expired.status_code == 403 and "expired" in expired.json()["detail"]
