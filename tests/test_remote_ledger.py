"""The ledger of browsers created from this machine: what it keeps, and what the leak command
does with entries it cannot or must not stop. Real files, real processes, a real closed port;
no browser is needed for these (the end-to-end leak test is in test_remote_exits.py)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bu_cdp.ledger import Ledger, Owner, ledger_path, record, stop_leaked


def _dead_owner() -> Owner:
    """The owner a crashed program leaves: a process that ran on this host and is gone."""
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return Owner(int(child.stdout), "1", socket.gethostname())


def _closed_port_url() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/api/v3"


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


def test_it_keeps_open_browsers_and_never_a_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "browsers.jsonl"
    monkeypatch.setenv("BU_CDP_LEDGER", str(path))
    record("created", "b1", "http://h/api/v3")
    record("created", "b2", "http://h/api/v3")
    record("created", "b3", "http://h/api/v3")
    record("stopped", "b1", "http://h/api/v3")
    record("kept", "b3", "http://h/api/v3")
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


def test_the_leak_command_leaves_alone_what_it_must(tmp_path: Path) -> None:
    path = tmp_path / "browsers.jsonl"
    dead = _dead_owner()
    unreachable = _closed_port_url()
    _write_created(path, "mine", unreachable, Owner.current())  # this process still runs
    _write_created(path, "kept", unreachable, dead)
    Ledger(path).kept("kept", unreachable)
    _write_created(path, "embedded", "http://127.0.0.1:1/api/v3", dead, embedded=True)
    _write_created(path, "far", unreachable, dead)

    outcomes = {o.entry.id: o for o in stop_leaked(api_key="k", path=path)}

    assert outcomes["mine"].action == "in use"
    assert outcomes["kept"].action == "kept"
    assert outcomes["embedded"].action == "died"  # its server ended with its process
    assert outcomes["far"].action == "unreachable"
    assert unreachable in outcomes["far"].detail
    # The embedded entry is settled and dropped; the others stay for next time.
    assert sorted(e.id for e in Ledger(path).open_entries()) == ["far", "kept", "mine"]
