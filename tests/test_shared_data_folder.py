"""Several servers on one data folder: none spoils another's work, and none stalls on the disk.

Servers here run in threads of the test process, as embedded servers of parallel test
workers do; each has its own run (its own lock in ``runs/``), as separate processes would.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from bu_cdp.server.config import ServerConfig
from bu_cdp.server.storage import store as store_module
from bu_cdp.server.storage.billing import BillingAccount
from bu_cdp.server.storage.store import DATABASE_NAME, Store, new_id, now, timestamp
from bu_cdp.server.storage.workspaces import WorkspaceStore
from bu_cdp.server.thread import ServerThread
from tests.support.local_api import key_header
from tests.support.multipart import CONTENT_TYPE, END, part_head
from tests.support.waiting import wait_until


def _held(lock: Any) -> bool:
    """Whether another thread holds ``lock`` now."""
    if lock.acquire(blocking=False):
        lock.release()
        return False
    return True


def test_a_server_starting_on_the_folder_leaves_a_live_servers_upload_alone(
    make_server: Callable[..., ServerThread], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    first = make_server(data_dir=data)
    workspace_id = httpx.post(
        first.base_url + "/workspaces", json={"name": "shared"}, headers=key_header(first)
    ).json()["id"]
    halfway = threading.Event()

    def body() -> Iterator[bytes]:
        yield part_head("big.bin")
        yield b"a" * 100_000
        halfway.wait(30)  # the upload is under way while another server starts
        yield b"b" * 100_000 + END

    answers: list[httpx.Response] = []
    uploading = threading.Thread(
        target=lambda: answers.append(
            httpx.post(
                f"{first.base_url}/workspaces/{workspace_id}/upload",
                content=body(),
                headers={**key_header(first), **CONTENT_TYPE},
                timeout=60,
            )
        )
    )
    uploading.start()
    partial = data / "workspaces" / workspace_id / "partial"
    try:
        wait_until(lambda: any(partial.rglob("*.part")), 30.0, "the upload to reach the disk")
        make_server(data_dir=data)  # tidies the folder at start
        assert any(partial.rglob("*.part")), "another server removed a live upload"
    finally:
        halfway.set()
        uploading.join(60)
    assert answers[0].status_code == 200, answers[0].text
    saved = data / "workspaces" / workspace_id / "files" / "big.bin"
    assert saved.read_bytes() == b"a" * 100_000 + b"b" * 100_000


class _CreatedMeanwhile(Store):
    """A store whose first list of workspaces is read just before another server creates one
    and uploads into it: the moment the start-up tidy must not misjudge."""

    other: WorkspaceStore | None = None

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        found = super().rows(sql, params)
        if "FROM workspaces" in sql and self.other is not None:
            other, self.other = self.other, None
            created = other.create("made by another server")
            files = other.files_root(created["id"])
            files.mkdir(parents=True)
            (files / "kept.txt").write_text("still here")
        return found


def test_the_start_up_tidy_keeps_a_workspace_created_after_it_listed_them(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    others = Store(data)
    starting = _CreatedMeanwhile(data)
    starting.other = WorkspaceStore(others, new_id(), 1 << 20)
    WorkspaceStore(starting, new_id(), 1 << 20).tidy_all()
    assert [p.read_text() for p in (data / "workspaces").rglob("kept.txt")] == ["still here"]
    others.close()
    starting.close()


def test_the_event_loop_answers_while_the_store_waits_for_another_servers_write(
    make_server: Callable[..., ServerThread], tmp_path: Path
) -> None:
    server = make_server(data_dir=tmp_path)
    other = sqlite3.connect(tmp_path / DATABASE_NAME, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another server holds the write lock
    created: list[httpx.Response] = []
    try:
        creating = threading.Thread(
            target=lambda: created.append(
                httpx.post(
                    server.base_url + "/profiles",
                    json={"name": "waits"},
                    headers=key_header(server),
                    timeout=60,
                )
            )
        )
        creating.start()
        store: Store = server.app.state.persistence.store
        # The create is inside its INSERT, waiting for the lock, once it holds the store.
        wait_until(lambda: _held(store._lock), 30.0, "the create to wait")
        health = httpx.get(server.base_url.removesuffix("/api/v3") + "/health", timeout=60)
        assert health.status_code == 200
        assert creating.is_alive() and not created  # answered while the write still waits
    finally:
        other.execute("COMMIT")
        other.close()
    creating.join(60)
    assert created[0].status_code == 200, created[0].text


def test_the_cost_total_follows_the_ledger_and_folders_from_before_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A data folder written before the running total existed (schema 2), with a ledger.
    monkeypatch.setattr(store_module, "MIGRATIONS", store_module.MIGRATIONS[:2])
    older = Store(tmp_path)
    for cost in (1.5, 2.25):
        older.execute(
            "INSERT INTO browsers (id, run_id, status, created_at, started_at, timeout_minutes,"
            " width, height, workdir, minutes, cost) VALUES (?, 'gone', 'stopped', ?, ?, 60,"
            " 800, 600, '/nowhere', 1, ?)",
            (new_id(), timestamp(now()), timestamp(now()), cost),
        )
    older.close()
    monkeypatch.undo()

    store = Store(tmp_path)
    config = ServerConfig(api_key="k", price_per_browser_hour=60.0, credit=10.0)
    billing = BillingAccount(store, config)
    assert billing.cost() == pytest.approx(3.75)

    # Another server's browser: running (billed up to now), then ended, then corrected.
    browser_id = new_id()
    store.execute(
        "INSERT INTO browsers (id, run_id, status, created_at, started_at, timeout_minutes,"
        " width, height, workdir) VALUES (?, 'other', 'active', ?, ?, 60, 800, 600, '/x')",
        (browser_id, timestamp(now()), timestamp(now())),
    )
    assert billing.cost() > 3.75
    store.execute(
        "UPDATE browsers SET status = 'stopped', minutes = 2, cost = 2 WHERE id = ?", (browser_id,)
    )
    assert billing.cost() == pytest.approx(5.75)
    store.execute("UPDATE browsers SET cost = 1 WHERE id = ?", (browser_id,))
    assert billing.cost() == pytest.approx(4.75)
    assert billing.cost() == pytest.approx(billing.usage()["cost"])
    assert billing.balance()["balance"] == pytest.approx(10.0 - 4.75)
    store.close()
