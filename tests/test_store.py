"""The store: where it lives, how its schema moves on, and what survives restarts and crashes."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from bu_cdp import BrowserUse, errors
from bu_cdp.server.storage import profiles as profiles_module
from bu_cdp.server.storage import store as store_module
from bu_cdp.server.storage.profiles import ProfileStore
from bu_cdp.server.storage.store import DATABASE_NAME, Store, default_data_dir, timestamp
from bu_cdp.server.thread import ServerThread
from tests.support.local_api import client_for


def test_the_data_folder_is_bu_cdp_home_else_the_platforms(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BU_CDP_HOME", str(tmp_path / "home"))
    assert default_data_dir() == tmp_path / "home"
    monkeypatch.delenv("BU_CDP_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_data_dir() == tmp_path / "xdg" / "bu-cdp"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")  # the XDG spec says: ignore it
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert default_data_dir() == tmp_path / "user" / ".local" / "share" / "bu-cdp"


def test_the_schema_is_versioned_and_migrated_forward(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store = Store(tmp_path)
    assert store.schema_version() == len(store_module.MIGRATIONS)
    store.execute("INSERT INTO profiles (id, name, created_at) VALUES ('p', 'kept', '2024-01-01')")
    store.close()

    # A later release adds a migration: opening the old folder applies it and keeps the data.
    later = [*store_module.MIGRATIONS, ("ALTER TABLE profiles ADD COLUMN colour TEXT",)]
    monkeypatch.setattr(store_module, "MIGRATIONS", later)
    store = Store(tmp_path)
    assert store.schema_version() == len(later)
    row = store.row("SELECT name, colour FROM profiles WHERE id = 'p'")
    assert row is not None and (row["name"], row["colour"]) == ("kept", None)
    store.close()

    # An older release refuses a folder a newer one wrote, instead of misreading it.
    monkeypatch.setattr(store_module, "MIGRATIONS", later[:1])
    with pytest.raises(errors.ConfigurationError, match="newer bu-cdp"):
        Store(tmp_path)


def test_a_restart_keeps_profiles_and_workspaces(
    make_server: Callable[..., ServerThread], tmp_path: Path
) -> None:
    first = make_server(data_dir=tmp_path)
    with BrowserUse(base_url=first.base_url, api_key=first.config.api_key) as client:
        profile = client.profiles.create("kept profile")
        workspace = client.workspaces.create("kept workspace")
        client.workspaces.upload(workspace.id or "", b"still here", filename="a/b.txt")
    first.stop()

    second = make_server(data_dir=tmp_path)
    with BrowserUse(base_url=second.base_url, api_key=second.config.api_key) as client:
        assert [(p.id, p.name) for p in client.profiles.list()] == [(profile.id, "kept profile")]
        assert [(w.id, w.name) for w in client.workspaces.list()] == [
            (workspace.id, "kept workspace")
        ]
        saved = client.workspaces.download(workspace.id or "", "a/b.txt", tmp_path / "b.txt")
        assert saved.read_bytes() == b"still here"


def _user_data(folder: Path, cookies: bytes) -> Path:
    (folder / "Default" / "Cache").mkdir(parents=True)
    (folder / "Default" / "Cookies").write_bytes(cookies)
    (folder / "Default" / "Cache" / "data_0").write_bytes(b"cache, never saved")
    (folder / "SingletonLock").symlink_to("host-1234")
    return folder


ALICE = {"Default/Cookies": b"session=alice"}  # what a saved profile holds: no cache, no lock


def _loaded(profiles: ProfileStore, profile_id: str, target: Path) -> dict[str, bytes]:
    profiles.load(profile_id, target)
    return {
        str(p.relative_to(target)): p.read_bytes()
        for p in target.rglob("*")
        if p.is_file() and not p.is_symlink()
    }


def test_a_crash_during_a_save_leaves_the_previous_copy_whole(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    profiles = ProfileStore(Store(tmp_path / "data"))
    profile_id = profiles.create("careful")["id"]
    fd = profiles.take(profile_id, "browser-1")
    profiles.save(profile_id, _user_data(tmp_path / "run1", b"session=alice"))
    assert _loaded(profiles, profile_id, tmp_path / "check1") == {
        "Default/Cookies": b"session=alice"
    }

    # The copy fails half-way (a full disk, say): the saved copy is the one before.
    def failing_copy(source: str, target: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(profiles_module.shutil, "copy2", failing_copy)
    with pytest.raises(OSError, match="No space"):
        profiles.save(profile_id, _user_data(tmp_path / "run2", b"session=eve"))
    monkeypatch.undo()
    assert _loaded(profiles, profile_id, tmp_path / "check2") == {
        "Default/Cookies": b"session=alice"
    }

    # Killed outright mid-save, or between the rename and the database: leftovers the next
    # load removes, never confuses with the saved copy.
    folder = tmp_path / "data" / "profiles" / profile_id
    (folder / ".saving-v-cut-short" / "Default").mkdir(parents=True)
    _user_data(folder / "v-renamed-but-not-recorded", b"session=mallory")
    assert _loaded(profiles, profile_id, tmp_path / "check3") == {
        "Default/Cookies": b"session=alice"
    }
    assert sorted(p.name for p in folder.iterdir() if p.name != "lock") == [
        _current_version(tmp_path / "data", profile_id)
    ]
    profiles.give_back(profile_id, fd)


def _current_version(data: Path, profile_id: str) -> str:
    with sqlite3.connect(data / DATABASE_NAME) as db:
        (version,) = db.execute(
            "SELECT data_version FROM profiles WHERE id = ?", (profile_id,)
        ).fetchone()
    return str(version)


def test_a_restart_closes_browsers_of_dead_servers_only(
    make_server: Callable[..., ServerThread], tmp_path: Path
) -> None:
    alive = make_server(data_dir=tmp_path)
    store: Store = alive.app.state.persistence.store
    alive_run = alive.app.state.persistence.run.id
    workdir = Path(os.environ["TMPDIR"]) / "bu-cdp-browser-of-a-dead-run"
    workdir.mkdir()
    now = timestamp(store_module.now())
    for browser_id, run_id in (
        ("0" * 8 + "-0000-4000-8000-" + "0" * 12, "dead-run"),
        ("1" * 8 + "-1111-4111-8111-" + "1" * 12, alive_run),
    ):
        store.execute(
            "INSERT INTO browsers (id, run_id, status, created_at, started_at, timeout_minutes,"
            " width, height, workdir) VALUES (?, ?, 'active', ?, ?, 60, 800, 600, ?)",
            (browser_id, run_id, now, now, str(workdir)),
        )
    store.execute(
        "INSERT INTO runs (id, pid, started_at, last_seen_at) VALUES ('dead-run', 1, ?, ?)",
        (now, now),
    )

    second = make_server(data_dir=tmp_path)  # shares the folder with a server still running
    with BrowserUse(base_url=second.base_url, api_key=second.config.api_key) as client:
        dead = client.browsers.get("0" * 8 + "-0000-4000-8000-" + "0" * 12)
        assert dead.status == "stopped"
        assert "unexpectedly" in str((dead.model_extra or {})["reason"])
        still = client.browsers.get("1" * 8 + "-1111-4111-8111-" + "1" * 12)
        assert still.status == "active"  # its server holds its run lock: not ours to close
    assert not workdir.exists()
    assert store.row("SELECT id FROM runs WHERE id = 'dead-run'") is None


def test_serve_flags_set_the_data_folder_billing_and_upload_limit(tmp_path: Path) -> None:
    from bu_cdp.cli import build_parser
    from bu_cdp.cli.serve import server_config

    flags = f"serve --api-key k --data-dir {tmp_path} --price-per-hour 2.5 --credit 10"
    args = build_parser().parse_args([*flags.split(), "--max-upload-bytes", "4096"])
    config = server_config(args)
    assert (config.data_dir, config.price_per_browser_hour) == (tmp_path, 2.5)
    assert (config.credit, config.max_upload_bytes) == (10.0, 4096)


def test_without_a_usable_data_folder_the_server_still_serves(
    make_server: Callable[..., ServerThread], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv("BU_CDP_HOME", str(tmp_path / "a-file" / "bu-cdp"))
    server = make_server()
    scratch: Path = server.app.state.persistence.store.data_dir
    assert scratch.name.startswith("bu-cdp-data-") and scratch.is_dir()
    with client_for(server) as client:
        assert client.profiles.create("for now").name == "for now"
    server.stop()
    assert not scratch.exists()  # a stand-in folder: removed with the server
