"""The server's state on disk: one SQLite database beside folders of files, in a data folder.

The data folder is ``ServerConfig.data_dir``, else ``$BU_CDP_HOME``, else the platform's user
data folder (``$XDG_DATA_HOME/bu-cdp``, by default ``~/.local/share/bu-cdp``, on Linux). The
schema is versioned with SQLite's ``user_version``: ``MIGRATIONS[n]`` takes a database from
version ``n`` to ``n + 1``, so a later release migrates what an earlier one wrote.

One connection per server, shared by worker threads behind one lock (SQLite calls may wait
for the disk and for another server's write lock, so they never run on the event loop: routes
that use the store are plain functions, which FastAPI runs in its thread pool, and hooks call it
through ``asyncio.to_thread``). Every statement is short and commits on its own; slow work
(copying folders) happens outside the lock.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import threading
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bu_cdp.errors import ConfigurationError
from bu_cdp.server.chromium import isolation

DATA_DIR_ENV = "BU_CDP_HOME"
DATABASE_NAME = "bu-cdp.sqlite3"

# Each entry takes the schema from version i to i + 1. Append only; never edit a shipped one.
MIGRATIONS: list[Sequence[str]] = [
    (
        """CREATE TABLE profiles (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            created_at TEXT NOT NULL,
            data_version TEXT  -- folder under profiles/<id>/ holding the saved user data
        )""",
        """CREATE TABLE workspaces (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""",
        """CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            pid INTEGER NOT NULL,
            started_at TEXT NOT NULL,
            last_seen_at TEXT NOT NULL
        )""",
        """CREATE TABLE browsers (
            id TEXT PRIMARY KEY,
            run_id TEXT NOT NULL,
            status TEXT NOT NULL,
            created_at TEXT NOT NULL,
            started_at TEXT NOT NULL,  -- billed from here: the moment Chromium was ready
            stopped_at TEXT,
            reason TEXT,
            timeout_minutes INTEGER NOT NULL,
            width INTEGER NOT NULL,
            height INTEGER NOT NULL,
            profile_id TEXT,
            workdir TEXT NOT NULL,
            minutes REAL,  -- billed API minutes, fixed when the browser ends
            cost REAL      -- at the price of that moment
        )""",
        "CREATE INDEX browsers_by_status ON browsers (status)",
        """CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            status TEXT NOT NULL,
            task TEXT NOT NULL,
            output TEXT,
            live_url TEXT,
            recording_url TEXT,
            steps TEXT NOT NULL DEFAULT '[]',     -- JSON array
            messages TEXT NOT NULL DEFAULT '[]',  -- JSON array
            created_at TEXT NOT NULL,
            stopped_at TEXT
        )""",
    ),
    # 2: a session records through its browser; its recording is that browser's.
    ("ALTER TABLE sessions ADD COLUMN browser_id TEXT",),
    # 3: the total cost of ended browsers, kept by triggers in the statement that changes a
    # row, so a credit check reads one row instead of the whole ledger.
    (
        "CREATE TABLE totals (name TEXT PRIMARY KEY, value REAL NOT NULL)",
        "INSERT INTO totals (name, value) SELECT 'browser_cost', total(cost) FROM browsers",
        """CREATE TRIGGER browser_cost_inserted AFTER INSERT ON browsers
            WHEN new.cost IS NOT NULL BEGIN
            UPDATE totals SET value = value + new.cost WHERE name = 'browser_cost';
        END""",
        """CREATE TRIGGER browser_cost_updated AFTER UPDATE OF cost ON browsers BEGIN
            UPDATE totals SET value = value + coalesce(new.cost, 0) - coalesce(old.cost, 0)
            WHERE name = 'browser_cost';
        END""",
        """CREATE TRIGGER browser_cost_deleted AFTER DELETE ON browsers
            WHEN old.cost IS NOT NULL BEGIN
            UPDATE totals SET value = value - old.cost WHERE name = 'browser_cost';
        END""",
    ),
]


def default_data_dir() -> Path:
    """``$BU_CDP_HOME``, else the platform's folder for an application's own data."""
    explicit = os.environ.get(DATA_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser()
    home = Path.home()
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "bu-cdp"
    if os.name == "nt":
        return Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local") / "bu-cdp"
    xdg = os.environ.get("XDG_DATA_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else home / ".local" / "share"
    return base / "bu-cdp"


def now() -> datetime:
    return datetime.now(UTC)


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def new_id() -> str:
    return str(uuid.uuid4())


def is_id(text: str) -> bool:
    """Whether ``text`` could be an id this server made: anything else is simply not found."""
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


class Store:
    """The database of one data folder; folders of files live beside it."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            isolation.close_to_others(data_dir)  # profiles, store: no browser's uid may read
            self._db = sqlite3.connect(
                data_dir / DATABASE_NAME,
                timeout=10.0,  # another server on the same folder may hold the write lock
                isolation_level=None,  # explicit transactions only
                check_same_thread=False,  # guarded by self._lock instead
            )
        except (OSError, sqlite3.Error) as exc:
            raise ConfigurationError(f"cannot open the data folder {data_dir}: {exc}") from exc
        self._db.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            migrate(self._db, data_dir)

    def folder(self, *parts: str) -> Path:
        return self.data_dir.joinpath(*parts)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def row(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        with self._lock:
            found: sqlite3.Row | None = self._db.execute(sql, params).fetchone()
            return found

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement in its own transaction; the number of rows it changed."""
        with self._lock:
            return self._db.execute(sql, params).rowcount

    def schema_version(self) -> int:
        with self._lock:
            return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


def migrate(db: sqlite3.Connection, where: Path) -> None:
    """Bring the schema to the newest version; refuse a folder written by a newer release."""
    known = len(MIGRATIONS)
    for target in range(1, known + 1):
        db.execute("BEGIN IMMEDIATE")  # re-read under the write lock: another server may migrate
        try:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            if version > known:
                raise ConfigurationError(
                    f"the data folder {where} was written by a newer bu-cdp (schema version "
                    f"{version}; this one knows up to {known}): upgrade bu-cdp or use another "
                    f"folder (--data-dir or ${DATA_DIR_ENV})"
                )
            if version < target:
                for statement in MIGRATIONS[target - 1]:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {target}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
