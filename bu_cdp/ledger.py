"""A small ledger of the browsers created from this machine, so a crashed program's are found again.

A program killed outright (SIGKILL, a power cut, an OOM kill) cannot stop its browsers, and a
hosted browser bills until its server-side timeout. Each browser ``RemoteBrowser`` (or
``bu-cdp open``) creates is written here, with where it lives and which process made it; its
stop is written too. What is left open, made by a process that no longer runs, has leaked:
``bu-cdp browsers stop --leaked`` stops those (on the configured server only, see
``stop_leaked``).

One JSON object a line, appended under a file lock so concurrent programs do not interleave.
It never holds an API key or a CDP address (the address carries the browser's token): only the
API's base URL and dialect (so a hosted browser is stopped the hosted way), the browser's id,
and the creating process.

Where: ``BU_CDP_LEDGER`` (a file path, or ``off``), else ``$BU_CDP_HOME/browsers.jsonl``, else
``$XDG_STATE_HOME/bu-cdp/browsers.jsonl`` (``~/.local/state/bu-cdp/browsers.jsonl``).
"""

from __future__ import annotations

import contextlib
import ipaddress
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
from urllib.parse import urlsplit

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


# -- finding and stopping leaked browsers --------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What ``stop_leaked`` did about one ledger entry."""

    entry: Entry
    # stopped, would stop, ended, gone, in use, kept, died, another server, not contacted,
    # unreachable, failed
    action: str
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.action == "failed"


# Outcomes after which the entry is dropped from the ledger: nothing is left to stop.
_SETTLED = frozenset({"stopped", "ended", "gone", "died"})


def stop_leaked(
    *,
    base_url: str | None,
    api_key: str | None,
    all_servers: bool = False,
    include_kept: bool = False,
    dry_run: bool = False,
    path: Path | None = None,
) -> list[Outcome]:
    """Stop the ledger's browsers whose creating process is gone and that are still active.

    Only the browsers of ``base_url`` (the server the command is configured for; None: none
    is) are looked at there, with ``api_key``. Those of other servers are reported as "another
    server" and left alone: the key is not theirs. With ``all_servers`` they are looked at too,
    but the key is sent only over https or to this machine; a plain-http server elsewhere is
    "not contacted" (``base_url`` it explicitly to stop its browsers).

    ``include_kept`` also stops browsers left running on purpose (``keep_alive=True``);
    ``dry_run`` only says what it would do. A server that cannot be reached is reported and its
    entries kept for next time, except an embedded server's: it ran inside the creating process
    and died with it, taking its browsers along.
    """
    path = path or ledger_path()
    if path is None:
        return []
    book = Ledger(path)
    target = base_url.rstrip("/") if base_url else None
    outcomes: list[Outcome] = []
    by_server: dict[tuple[str, str], list[Entry]] = {}
    for entry in book.open_entries():
        server = entry.base_url.rstrip("/")
        alive = entry.owner.alive()
        if alive:
            outcomes.append(Outcome(entry, "in use", f"pid {entry.owner.pid} still runs"))
        elif alive is None:
            outcomes.append(Outcome(entry, "in use", f"made on {entry.owner.host}, not here"))
        elif entry.kept and not include_kept:
            outcomes.append(
                Outcome(entry, "kept", "left running on purpose; --include-kept stops it")
            )
        elif entry.embedded:
            outcomes.append(
                Outcome(entry, "died", f"its embedded server ended with pid {entry.owner.pid}")
            )
        elif server != target and not all_servers:
            where = f"not {target}" if target else "no server is configured"
            outcomes.append(
                Outcome(entry, "another server", f"{where}; --all-servers to look there too")
            )
        elif server != target and not _may_carry_key(server):
            outcomes.append(
                Outcome(
                    entry,
                    "not contacted",
                    "plain http to another host: the key is not sent there; "
                    "use --base-url to choose that server",
                )
            )
        else:
            by_server.setdefault((server, entry.dialect), []).append(entry)
    for (server, dialect), entries in by_server.items():
        outcomes += _stop_on(server, dialect, entries, api_key, dry_run)
    if not dry_run:
        settled = [o.entry for o in outcomes if o.action in _SETTLED]
        if settled:
            book.forget(settled)
    return outcomes


def _may_carry_key(base_url: str) -> bool:
    """Whether an API key may be sent to a server: over https, or to this machine."""
    parts = urlsplit(base_url)
    if parts.scheme == "https":
        return True
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _stop_on(
    server: str, dialect: str, entries: list[Entry], api_key: str | None, dry_run: bool
) -> list[Outcome]:
    from bu_cdp.client import BrowserUse
    from bu_cdp.errors import APIConnectionError, APIError, NotFoundError

    outcomes: list[Outcome] = []
    with BrowserUse(
        base_url=server, api_key=api_key, dialect=dialect, timeout=10, max_retries=1
    ) as client:
        for entry in entries:
            try:
                status = str(client.browsers.get(entry.id).status)
                if status != "active":
                    outcomes.append(Outcome(entry, "ended", f"already {status}"))
                elif dry_run:
                    outcomes.append(Outcome(entry, "would stop", "still active"))
                else:
                    client.browsers.stop(entry.id)
                    outcomes.append(Outcome(entry, "stopped", "was still active"))
            except NotFoundError:
                outcomes.append(Outcome(entry, "gone", "the server does not know it"))
            except APIConnectionError:
                # The whole server is out of reach: say so once per entry, try no more.
                reason = f"server unreachable: {server}"
                done = {o.entry for o in outcomes}
                outcomes += [Outcome(e, "unreachable", reason) for e in entries if e not in done]
                break
            except APIError as exc:
                outcomes.append(Outcome(entry, "failed", str(exc)))
    return outcomes
