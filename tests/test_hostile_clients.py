"""The API against hostile clients: what a stranger on the network may send, and what it gets.

Against the real server (``bu-cdp serve`` in a process of its own where its memory and its log
are what is checked, else in a thread), over real sockets.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bu_cdp.server.api import hardening
from bu_cdp.server.thread import ServerThread
from tests.support import multipart
from tests.support.local_api import key_header
from tests.support.serving import LOG_NAME, ServedProcess, serve_process
from tests.support.waiting import wait_until

MIB = 1 << 20


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    """The served process's TMPDIR, data folder and log (``serve.log``)."""
    made = Path(tempfile.mkdtemp(prefix="hc-"))
    yield made
    shutil.rmtree(made, ignore_errors=True)


@pytest.fixture(scope="module")
def served(folder: Path) -> Iterator[ServedProcess]:
    with serve_process(tmpdir=folder, env={"BU_CDP_HOME": str(folder / "home")}) as running:
        yield running


def _host_port(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split("/")[0].rsplit(":", 1)
    return host, int(port)


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _send_big_body(url: str, path: str, size: int, headers: str = "") -> bytes:
    """POST ``size`` bytes of JSON to ``path``, sending for as long as the server reads; the
    answer as it came."""
    with socket.create_connection(_host_port(url), timeout=60) as sock:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {size}\r\n{headers}\r\n"
        )
        sock.sendall(head.encode())
        chunk = b'{"name": "' + b"a" * (MIB - 12) + b'", '
        sent = 0
        try:
            while sent < size:
                sock.sendall(chunk[: size - sent])
                sent += len(chunk)
        except OSError:
            pass  # the server answered and closed: the rest was never read
        answer = b""
        try:
            while data := sock.recv(65536):
                answer += data
        except OSError:
            pass
        return answer


@pytest.mark.parametrize("base", ["/api/v3", "/hosted/api/v3"])
def test_a_big_body_without_a_key_is_refused_before_it_is_read(
    served: ServedProcess, base: str
) -> None:
    pid = served.process.pid
    before = _rss_kib(pid)
    answer = _send_big_body(served.url, base + "/profiles", 200 * MIB)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert _rss_kib(pid) - before < 50 * 1024, "the server read the body into memory"


def test_invalid_json_without_a_key_is_401_not_422(served: ServedProcess) -> None:
    answer = httpx.post(
        served.api_url + "/profiles",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 401


def test_a_json_body_over_the_cap_is_413_with_a_key(served: ServedProcess) -> None:
    key = f"X-Browser-Use-API-Key: {served.api_key}\r\n"
    answer = _send_big_body(served.url, "/api/v3/profiles", 2 * MIB, headers=key)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/profiles", '{"name": "\\ud800"}'),
        ("/profiles", '{"name": NaN}'),
        ("/workspaces", '{"name": "\\udfff x"}'),
        ("/workspaces", '{"name": Infinity}'),
        ("/browsers", '{"timeout": NaN}'),
        ("/browsers", '{"timeout": -Infinity, "custom_proxy": {"host": "\\ud800", "port": 1}}'),
        ("/browsers", '{"proxy_country_code": "\\ud800\\ud800"}'),
        ("/sessions", '{"task": NaN}'),
    ],
)
def test_surrogates_and_nan_get_422_not_500(served: ServedProcess, path: str, body: str) -> None:
    answer = httpx.post(
        served.api_url + path,
        content=body.encode(),
        headers={**served.headers, "Content-Type": "application/json"},
        timeout=30,
    )
    assert answer.status_code == 422, answer.text
    answer.json()  # and it is JSON


def test_a_422_echoes_a_bounded_excerpt(served: ServedProcess) -> None:
    name = "x" * 500_000 + "\x00"
    answer = httpx.post(
        served.api_url + "/profiles", json={"name": name}, headers=served.headers, timeout=30
    )
    assert answer.status_code == 422
    assert len(answer.content) < 4096


def test_the_proxy_password_is_in_no_log_line_even_when_the_request_fails(
    served: ServedProcess, folder: Path
) -> None:
    password = "pw-never-logged-7c1e"
    bodies = [
        '{"custom_proxy": {"host": "127.0.0.1", "port": 9, "password": "%s"}, "timeout": NaN}',
        '{"custom_proxy": {"host": "\\ud800", "port": "9", "password": "%s"}}',
        '{"custom_proxy": {"host": "h", "port": 9, "password": "%s", "x": NaN}}',
    ]
    for body in bodies:
        answer = httpx.post(
            served.api_url + "/browsers",
            content=(body % password).encode(),
            headers={**served.headers, "Content-Type": "application/json"},
            timeout=30,
        )
        assert answer.status_code == 422, answer.text
        assert password not in answer.text
    assert password not in (folder / LOG_NAME).read_text(errors="replace")


@pytest.mark.parametrize(
    ("path", "body", "words"),
    [
        ("/browsers", {"timeout": "5"}, "valid integer"),
        ("/browsers", {"timeout": True}, "valid integer"),
        ("/browsers", {"browserScreenWidth": "1024"}, "valid integer"),
        ("/profiles", {"name": "\u200b\ufeff"}, "empty"),
        ("/workspaces", {"name": " \u200b "}, "empty"),
        ("/profiles", {"name": "invoice\u202efdp.exe"}, "bidirectional"),
        ("/workspaces", {"name": "a\u2066b"}, "bidirectional"),
        ("/profiles", {"name": "ok", "colour": "red"}, "Extra inputs"),
        ("/workspaces", {"name": "ok", "colour": "red"}, "Extra inputs"),  # as on /browsers
    ],
)
def test_input_rules_are_the_same_everywhere(
    served: ServedProcess, path: str, body: dict[str, Any], words: str
) -> None:
    answer = httpx.post(served.api_url + path, json=body, headers=served.headers, timeout=30)
    assert answer.status_code == 422, answer.text
    assert words in answer.text


def _workspace(served: ServedProcess) -> str:
    answer = httpx.post(
        served.api_url + "/workspaces", json={"name": "uploads"}, headers=served.headers
    )
    answer.raise_for_status()
    workspace_id: str = answer.json()["id"]
    return workspace_id


def test_a_file_named_twice_in_one_upload_is_409(served: ServedProcess) -> None:
    workspace = _workspace(served)
    body = multipart.body(("same.txt", b"one"), ("same.txt", b"two"))
    answer = httpx.post(
        f"{served.api_url}/workspaces/{workspace}/upload",
        content=body,
        headers={**served.headers, **multipart.CONTENT_TYPE},
    )
    assert answer.status_code == 409, answer.text
    assert "twice" in answer.json()["detail"]


def test_a_file_name_with_a_bidi_override_is_422(served: ServedProcess) -> None:
    workspace = _workspace(served)
    body = multipart.body(("report\u202etxt.exe", b"x"))
    answer = httpx.post(
        f"{served.api_url}/workspaces/{workspace}/upload",
        content=body,
        headers={**served.headers, **multipart.CONTENT_TYPE},
    )
    assert answer.status_code == 422, answer.text
    assert "bidirectional" in answer.text


@pytest.fixture
def quick_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Heads due within 1 s, bodies that pause 1 s dropped: the rules, on a test's time."""
    monkeypatch.setattr(hardening, "HEAD_TIMEOUT", 1.0)
    monkeypatch.setattr(hardening, "BODY_IDLE_TIMEOUT", 1.0)


def test_silent_and_slow_clients_are_closed_while_health_answers(
    quick_timeouts: None, make_server: Callable[..., ServerThread]
) -> None:
    server = make_server()
    address = _host_port(server.base_url)
    key = key_header(server)["X-Browser-Use-API-Key"]
    openings = [
        b"",  # connects and says nothing
        b"GET /health HTTP/1.1\r\nHost: x\r\n",  # a head that never ends
        b"GET /cdp/x/y HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n",  # half an upgrade
        # a whole head with a key, then a body that never comes
        f"POST /api/v3/profiles HTTP/1.1\r\nHost: x\r\nX-Browser-Use-API-Key: {key}\r\n"
        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{".encode(),
    ]
    clients = []
    for opening in openings * 10:
        sock = socket.create_connection(address, timeout=30)
        sock.sendall(opening)
        clients.append(sock)
    try:
        assert httpx.get(server.base_url.removesuffix("/api/v3") + "/health").status_code == 200

        def all_closed() -> bool:
            return all(_closed_by_server(sock) for sock in clients)

        wait_until(all_closed, 30, "the server to close every slow connection")
        assert httpx.get(server.base_url.removesuffix("/api/v3") + "/health").status_code == 200
    finally:
        for sock in clients:
            sock.close()


def _closed_by_server(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        while data := sock.recv(65536):
            del data  # an answer (408) before the close is fine
        return True
    except BlockingIOError:
        return False
    except OSError:
        return True


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 4 MiB filesystem (tmpfs), so a full disk is the kernel's, not a stand-in."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(folder: Path) -> None:
    with (folder / "filler").open("wb") as filler:
        with contextlib.suppress(OSError):
            while True:
                filler.write(b"\0" * 65536)
                filler.flush()


def test_a_full_disk_is_507_on_every_write(
    small_disk: Path, make_server: Callable[..., ServerThread]
) -> None:
    server = make_server(data_dir=small_disk / "data")
    headers = key_header(server)
    made = httpx.post(server.base_url + "/profiles", json={"name": "before"}, headers=headers)
    made.raise_for_status()
    _fill(small_disk)
    writes = [
        ("POST", "/profiles", {"name": "p" * 150}),
        ("POST", "/workspaces", {"name": "w" * 150}),
        ("PUT", f"/profiles/{made.json()['id']}", {"name": "r" * 150}),
    ]
    for method, path, body in writes:
        answer = httpx.request(method, server.base_url + path, json=body, headers=headers)
        assert answer.status_code == 507, (path, answer.status_code, answer.text)
        assert "disk is full" in answer.json()["detail"]
