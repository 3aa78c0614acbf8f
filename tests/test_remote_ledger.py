"""The ledger of browsers created from this machine: what it keeps, and what the leak command
does with its entries: which it stops, which it must leave alone, and where the API key goes.
Real files, real processes, a real closed port, the real local server, and a real HTTP server
that records what it is sent (the end-to-end leak test, after a SIGKILL, is in
test_remote_exits.py)."""

from __future__ import annotations

import ipaddress
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bu_cdp import BrowserUse
from bu_cdp.cli import main as cli
from bu_cdp.leaks import stop_leaked
from bu_cdp.ledger import (
    Ledger,
    Owner,
    ledger_path,
    record_created,
    record_kept,
    record_stopped,
)
from bu_cdp.server.thread import ServerThread


def _dead_owner() -> Owner:
    """The owner a crashed program leaves: a process that ran on this host and is gone."""
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return Owner(int(child.stdout), "1", socket.gethostname())


def _write_created(
    path: Path, browser_id: str, base_url: str, owner: Owner, **extra: object
) -> None:
    event = {
        "event": "created",
        "id": browser_id,
        "base_url": base_url,
        "pid": owner.pid,
        "pid_started": owner.started,
        "host": owner.host,
        **extra,
    }
    with path.open("a") as out:
        out.write(json.dumps(event) + "\n")


def test_where_the_ledger_lives(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BU_CDP_LEDGER", "off")
    assert ledger_path() is None
    monkeypatch.delenv("BU_CDP_LEDGER")
    monkeypatch.setenv("BU_CDP_HOME", str(tmp_path))
    assert ledger_path() == tmp_path / "browsers.jsonl"
    monkeypatch.delenv("BU_CDP_HOME")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert ledger_path() == tmp_path / "state" / "bu-cdp" / "browsers.jsonl"


def test_it_keeps_open_browsers_and_never_a_secret(ledger_file: Path) -> None:
    path = ledger_file
    record_created("b1", "http://h/api/v3")
    record_created("b2", "http://h/api/v3")
    record_created("b3", "http://h/api/v3")
    record_stopped("b1", "http://h/api/v3")
    record_kept("b3", "http://h/api/v3")
    with path.open("a") as out:
        out.write('{"event": "created", "id": "torn')  # a crash in the middle of a write
    entries = Ledger(path).open_entries()
    assert [(e.id, e.kept) for e in entries] == [("b2", False), ("b3", True)]
    assert entries[0].owner == Owner.current()
    assert set(json.loads(path.read_text().splitlines()[0])) == {
        "event",
        "id",
        "base_url",
        "embedded",
        "pid",
        "pid_started",
        "host",
        "at",
        "dialect",
    }


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    book = Ledger(tmp_path / "browsers.jsonl")

    def write(worker: int) -> None:
        for i in range(50):
            book.created(f"w{worker}-{i}", "http://h/api/v3", embedded=False)
            if i % 2:
                book.stopped(f"w{worker}-{i}", "http://h/api/v3")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(book.open_entries()) == 4 * 25


def test_the_leak_command_leaves_alone_what_it_must(tmp_path: Path, closed_port: int) -> None:
    path = tmp_path / "browsers.jsonl"
    dead = _dead_owner()
    unreachable = f"http://127.0.0.1:{closed_port}/api/v3"
    _write_created(path, "mine", unreachable, Owner.current())  # this process still runs
    _write_created(path, "kept", unreachable, dead)
    Ledger(path).kept("kept", unreachable)
    _write_created(path, "embedded", "http://127.0.0.1:1/api/v3", dead, embedded=True)
    _write_created(path, "far", unreachable, dead)

    outcomes = {o.entry.id: o for o in stop_leaked(base_url=unreachable, api_key="k", path=path)}

    assert outcomes["mine"].action == "in use"
    assert outcomes["kept"].action == "kept"
    assert outcomes["embedded"].action == "died"  # its server ended with its process
    assert outcomes["far"].action == "unreachable"
    assert unreachable in outcomes["far"].detail
    # The embedded entry is settled and dropped; the others stay for next time.
    assert sorted(e.id for e in Ledger(path).open_entries()) == ["far", "kept", "mine"]


# -- the leak command on the configured server, and only there ----------------------------


def test_dry_run_then_stop_then_include_kept(
    on_server: ServerThread, ledger_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dead = _dead_owner()
    with BrowserUse() as client:
        leaked = str(client.browsers.create(timeout=5).id)
        kept = str(client.browsers.create(timeout=5).id)
        _write_created(ledger_file, leaked, on_server.base_url, dead)
        _write_created(ledger_file, kept, on_server.base_url, dead)
        Ledger(ledger_file).kept(kept, on_server.base_url)

        assert cli(["browsers", "stop", "--leaked", "--dry-run"]) == 0
        out = capsys.readouterr().out
        assert f"would stop     {leaked}" in out and f"kept           {kept}" in out
        assert "would stop 1 leaked browser(s)" in out
        assert client.browsers.get(leaked).status == "active"  # a dry run stops nothing
        assert len(Ledger(ledger_file).open_entries()) == 2  # and forgets nothing

        assert cli(["browsers", "stop", "--leaked"]) == 0
        assert "stopped 1 leaked browser(s)" in capsys.readouterr().out
        assert client.browsers.get(leaked).status == "stopped"
        assert client.browsers.get(kept).status == "active"  # kept on purpose: left alone

        assert cli(["browsers", "stop", "--leaked", "--include-kept", "--json"]) == 0
        rows = json.loads(capsys.readouterr().out)["browsers"]
        assert [(r["action"], r["id"]) for r in rows] == [("stopped", kept)]
        assert client.browsers.get(kept).status == "stopped"
    assert Ledger(ledger_file).open_entries() == []


class Recorder(ThreadingHTTPServer):
    """A real HTTP server on every address of this machine that answers 404 to everything
    and records which of its addresses each request came to and its API key header."""

    daemon_threads = True

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                address = self.connection.getsockname()[0]
                recorder.seen.append((address, self.headers.get("X-Browser-Use-API-Key")))
                body = b'{"detail": "no such browser"}'
                self.send_response(404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, format: str, *args: object) -> None:
                pass

        super().__init__(("0.0.0.0", 0), Handler)

    def url(self, host: str) -> str:
        return f"http://{host}:{self.server_address[1]}/api/v3"


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _own_address() -> str:
    """This machine's address on its network (not loopback), or a name no one answers to."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: it only picks a route
            address = str(probe.getsockname()[0])
        except OSError:
            return "bu-cdp-test.invalid"
    return "bu-cdp-test.invalid" if ipaddress.ip_address(address).is_loopback else address


def test_the_key_goes_only_to_the_configured_server(
    on_server: ServerThread,
    ledger_file: Path,
    recorder: Recorder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dead = _dead_owner()
    key = on_server.config.api_key
    here, there = recorder.url("127.0.0.1"), recorder.url(_own_address())
    # On the configured server: an id it does not know (a real browser stopping is above).
    _write_created(ledger_file, "b-mine", on_server.base_url, dead)
    _write_created(ledger_file, "b-here", here, dead)  # another server on this machine
    _write_created(ledger_file, "b-there", there, dead)  # another, over plain http

    # --base-url chooses the server, over BU_CDP_BASE_URL; the others are left alone.
    monkeypatch.setenv("BU_CDP_BASE_URL", here)
    assert cli(["browsers", "stop", "--leaked", "--base-url", on_server.base_url]) == 0
    out = capsys.readouterr().out
    assert f"gone           b-mine  {on_server.base_url}" in out  # asked there, with the key
    assert f"another server b-here  {here}" in out
    assert f"another server b-there  {there}" in out
    assert "2 browser(s) of other servers left alone" in out
    assert recorder.seen == []  # not even asked

    # --all-servers: the other server on this machine is asked (with the key: loopback), the
    # one elsewhere over plain http is not: the key would cross the network in clear text.
    monkeypatch.setenv("BU_CDP_BASE_URL", on_server.base_url)
    assert cli(["browsers", "stop", "--leaked", "--all-servers"]) == 0
    out = capsys.readouterr().out
    assert f"gone           b-here  {here}" in out
    assert f"not contacted  b-there  {there}" in out
    assert recorder.seen and all(seen == ("127.0.0.1", key) for seen in recorder.seen)
    assert [e.id for e in Ledger(ledger_file).open_entries()] == ["b-there"]
