"""Finding and stopping leaked browsers: the ledger's open entries whose creating process is
gone (``bu-cdp browsers stop --leaked``). Apart from ``bu_cdp.ledger``, which only records and
reads, because stopping needs the client and the ledger sits below it (pyproject's contracts).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bu_cdp.client import BrowserUse
from bu_cdp.errors import APIConnectionError, APIError, NotFoundError
from bu_cdp.ledger import Entry, Ledger, ledger_path


@dataclass(frozen=True)
class LeakOutcome:
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
) -> list[LeakOutcome]:
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
    outcomes: list[LeakOutcome] = []
    by_server: dict[tuple[str, str], list[Entry]] = {}
    for entry in book.open_entries():
        server = entry.base_url.rstrip("/")
        alive = entry.owner.alive()
        if alive:
            outcomes.append(LeakOutcome(entry, "in use", f"pid {entry.owner.pid} still runs"))
        elif alive is None:
            outcomes.append(LeakOutcome(entry, "in use", f"made on {entry.owner.host}, not here"))
        elif entry.kept and not include_kept:
            outcomes.append(
                LeakOutcome(entry, "kept", "left running on purpose; --include-kept stops it")
            )
        elif entry.embedded:
            outcomes.append(
                LeakOutcome(entry, "died", f"its embedded server ended with pid {entry.owner.pid}")
            )
        elif server != target and not all_servers:
            where = f"not {target}" if target else "no server is configured"
            outcomes.append(
                LeakOutcome(entry, "another server", f"{where}; --all-servers to look there too")
            )
        elif server != target and not _may_carry_key(server):
            outcomes.append(
                LeakOutcome(
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
) -> list[LeakOutcome]:
    outcomes: list[LeakOutcome] = []
    with BrowserUse(
        base_url=server, api_key=api_key, dialect=dialect, timeout=10, max_retries=1
    ) as client:
        for entry in entries:
            try:
                status = str(client.browsers.get(entry.id).status)
                if status != "active":
                    outcomes.append(LeakOutcome(entry, "ended", f"already {status}"))
                elif dry_run:
                    outcomes.append(LeakOutcome(entry, "would stop", "still active"))
                else:
                    client.browsers.stop(entry.id)
                    outcomes.append(LeakOutcome(entry, "stopped", "was still active"))
            except NotFoundError:
                outcomes.append(LeakOutcome(entry, "gone", "the server does not know it"))
            except APIConnectionError:
                # The whole server is out of reach: say so once per entry, try no more.
                reason = f"server unreachable: {server}"
                done = {o.entry for o in outcomes}
                outcomes += [
                    LeakOutcome(e, "unreachable", reason) for e in entries if e not in done
                ]
                break
            except APIError as exc:
                outcomes.append(LeakOutcome(entry, "failed", str(exc)))
    return outcomes
