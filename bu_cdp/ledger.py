"""A small ledger of the browsers created from this machine, so a crashed program's are found again.

A program killed outright (SIGKILL, a power cut, an OOM kill) cannot stop its browsers, and a
hosted browser bills until its server-side timeout. Each browser ``RemoteBrowser`` (or
``bu-cdp open``) creates is written here, with where it lives and which process made it; its
stop is written too. What is left open, made by a process that no longer runs, has leaked:
``bu-cdp browsers stop --leaked`` stops those (on the configured server only, see
``bu_cdp.leaks.stop_leaked``).

One JSON object a line, appended under a file lock so concurrent programs do not interleave.
It never holds an API key or a CDP address (the address carries the browser's token): only the
API's base URL and dialect (so a hosted browser is stopped the hosted way), the browser's id,
and the creating process.

Where: ``BU_CDP_LEDGER`` (a file path, or ``off``), else ``$BU_CDP_HOME/browsers.jsonl``, else
``$XDG_STATE_HOME/bu-cdp/browsers.jsonl`` (``~/.local/state/bu-cdp/browsers.jsonl``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bu_cdp.settings import dialect_of_url

try:
    import fcntl
except ImportError:  # Windows: appends are still whole lines; no lock between processes
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("bu_cdp")

LEDGER_ENV = "BU_CDP_LEDGER"
HOME_ENV = "BU_CDP_HOME"
COMPACT_ABOVE_BYTES = 256 * 1024  # rewrite without the finished browsers past this size


def ledger_path() -> Path | None:
    """Where the ledger lives, or None when ``BU_CDP_LEDGER=off``."""
    explicit = os.environ.get(LEDGER_ENV)
    if explicit is not None:
        if explicit.strip().lower() in ("", "off", "0", "none", "false"):
            return None
        return Path(explicit).expanduser()
    home = os.environ.get(HOME_ENV)
    if home:
        return Path(home).expanduser() / "browsers.jsonl"
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state).expanduser() / "bu-cdp" / "browsers.jsonl"


def _process_start(pid: int) -> str | None:
    """When a process started (Linux clock ticks since boot), so a reused pid is not mistaken."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


@dataclass(frozen=True)
class Owner:
    """The process that created a browser."""

    pid: int
    started: str | None
    host: str

    @classmethod
    def current(cls) -> Owner:
        return cls(os.getpid(), _process_start(os.getpid()), socket.gethostname())

    def alive(self) -> bool | None:
        """Whether the process still runs; None when it ran on another machine (cannot tell)."""
        if self.host != socket.gethostname():
            return None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass  # it exists, owned by someone else
        if self.started is not None:
            return _process_start(self.pid) == self.started
        return True


@dataclass(frozen=True)
class Entry:
    """A browser created from this machine and not known to be stopped."""

    id: str
    base_url: str
    embedded: bool  # on an in-process server, which ends with the process that ran it
    owner: Owner
    created_at: str
    kept: bool = False  # left running on purpose (keep_alive=True)
    dialect: str = "seed"  # how its API says a stop (settings.Dialect)


class Ledger:
    def __init__(self, path: Path) -> None:
        self.path = path

    # -- writing ---------------------------------------------------------------------------

    def created(
        self, browser_id: str, base_url: str, *, embedded: bool, dialect: str = "seed"
    ) -> None:
        entry = Entry(
            browser_id, base_url, embedded, Owner.current(), created_at=_now(), dialect=dialect
        )
        self._append(_created_event(entry))

    def stopped(self, browser_id: str, base_url: str) -> None:
        self._append({"event": "stopped", "id": browser_id, "base_url": base_url})

    def kept(self, browser_id: str, base_url: str) -> None:
        self._append({"event": "kept", "id": browser_id, "base_url": base_url})

    def forget(self, entries: list[Entry]) -> None:
        """Drop entries for good (stopped by the leak command, or gone), and compact the file."""
        with self._locked():
            lines = [
                {"event": "forgotten", "id": e.id, "base_url": e.base_url, "at": _now()}
                for e in entries
            ]
            self._write_lines(lines)
            self._compact()

    def _append(self, event: dict[str, Any]) -> None:
        event["at"] = _now()
        with self._locked():
            self._write_lines([event])
            if self.path.stat().st_size > COMPACT_ABOVE_BYTES:
                self._compact()

    def _write_lines(self, events: list[dict[str, Any]]) -> None:
        text = "".join(_line(e) for e in events)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(text)

    def _compact(self) -> None:
        """Rewrite the file with only the open entries (called with the lock held)."""
        kept: list[dict[str, Any]] = []
        for entry in self._fold(self._read_events()):
            kept.append(_created_event(entry))
            if entry.kept:
                kept.append({"event": "kept", "id": entry.id, "base_url": entry.base_url})
        fd, part = tempfile.mkstemp(prefix=".browsers.", dir=self.path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.writelines(_line(e) for e in kept)
        os.replace(part, self.path)

    # -- reading ---------------------------------------------------------------------------

    def open_entries(self) -> list[Entry]:
        """Browsers created and not yet known to be stopped, oldest first."""
        if not self.path.exists():
            return []
        with self._locked():
            return self._fold(self._read_events())

    def _read_events(self) -> list[dict[str, Any]]:
        events = []
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        for line in text.splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue  # a line torn by a crash mid-write: skip it, keep the rest
            if isinstance(event, dict) and isinstance(event.get("id"), str):
                events.append(event)
        return events

    @staticmethod
    def _fold(events: list[dict[str, Any]]) -> list[Entry]:
        open_: dict[tuple[str, str], Entry] = {}
        for event in events:
            key = (str(event.get("base_url", "")), event["id"])
            kind = event.get("event")
            if kind == "created":
                open_[key] = Entry(
                    id=key[1],
                    base_url=key[0],
                    embedded=bool(event.get("embedded")),
                    owner=Owner(
                        int(event.get("pid") or 0),
                        event.get("pid_started"),
                        str(event.get("host", "")),
                    ),
                    created_at=str(event.get("at", "")),
                    # Lines written before dialects were recorded: the URL's own dialect.
                    dialect=str(event.get("dialect") or dialect_of_url(key[0])),
                )
            elif kind == "kept" and key in open_:
                open_[key] = replace(open_[key], kept=True)
            elif kind in ("stopped", "forgotten"):
                open_.pop(key, None)
        return list(open_.values())

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with lock_path.open("a") as lock:
            if fcntl is not None:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                if fcntl is not None:
                    fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _created_event(entry: Entry) -> dict[str, Any]:
    """The line that opens an entry; ``at`` is when the browser was created."""
    return {
        "event": "created",
        "id": entry.id,
        "base_url": entry.base_url,
        "embedded": entry.embedded,
        "pid": entry.owner.pid,
        "pid_started": entry.owner.started,
        "host": entry.owner.host,
        "at": entry.created_at,
        "dialect": entry.dialect,
    }


def _line(event: dict[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":")) + "\n"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


_warned = False


def record_created(
    browser_id: str, base_url: str, *, embedded: bool = False, dialect: str = "seed"
) -> None:
    """Write down a browser this process created (see ``_write``)."""
    _write(lambda book: book.created(browser_id, base_url, embedded=embedded, dialect=dialect))


def record_stopped(browser_id: str, base_url: str) -> None:
    """Write down that a browser was stopped."""
    _write(lambda book: book.stopped(browser_id, base_url))


def record_kept(browser_id: str, base_url: str) -> None:
    """Write down a browser left running on purpose (keep_alive)."""
    _write(lambda book: book.kept(browser_id, base_url))


def _write(event: Callable[[Ledger], None]) -> None:
    """Write one event to this machine's ledger; a ledger that cannot be written never stops a
    browser from working (it is warned about once)."""
    global _warned
    path = ledger_path()
    if path is None:
        return
    try:
        event(Ledger(path))
    except OSError as exc:
        if not _warned:
            _warned = True
            log.warning("cannot write the browser ledger %s (%s); set %s", path, exc, LEDGER_ENV)
