"""The browser operations both API faces share: create, get, list, stop.

Each answers the server's own view of a browser, a dict in the seed dialect's words
(``cdp_url``, ``created_at``, ...); the seed routes send it as it is, the hosted routes
reshape it (``hosted_views``). So both faces run the same code and differ only in words.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Collection
from typing import Any

from fastapi import Request

from bu_cdp.models import BrowserStatus
from bu_cdp.server.browsers.manager import BrowserManager
from bu_cdp.server.browsers.record import ManagedBrowser
from bu_cdp.server.relay.endpoints import cdp_url
from bu_cdp.server.shared.addresses import public_base
from bu_cdp.server.shared.problems import ApiProblem
from bu_cdp.server.shared.schemas import BrowserCreateRequest

log = logging.getLogger("bu_cdp.server")

CLIENT_GONE = "the client that created it went away before the answer (it gave up waiting)"


def present(browser: ManagedBrowser, request: Request) -> dict[str, Any]:
    """A browser this server runs (or ran), as the seed dialect shows it."""
    base = public_base(request)
    answer = {
        "id": browser.id,
        "status": browser.status.value,
        "cdp_url": cdp_url(request, browser),
        **{name: base + path for name, path in browser.links.items()},
        "created_at": browser.created_at.isoformat(),
        "stopped_at": browser.stopped_at.isoformat() if browser.stopped_at else None,
        "timeout": browser.timeout_minutes,
        "browserScreenWidth": browser.window[0],
        "browserScreenHeight": browser.window[1],
        "reason": browser.reason,
    }
    # Absent rather than null: the spec types these fields as strings.
    return {key: value for key, value in answer.items() if value is not None}


def _manager(request: Request) -> BrowserManager:
    manager: BrowserManager = request.app.state.manager
    return manager


async def create(request: Request, body: BrowserCreateRequest) -> dict[str, Any]:
    manager = _manager(request)
    browser = await manager.create(body)
    if await request.is_disconnected():
        # Nobody will ever learn its address: stop it now rather than at its timeout.
        log.info("browser %s: %s; stopping it", browser.id, CLIENT_GONE)
        await manager.stop(browser.id, reason=CLIENT_GONE)
    return present(browser, request)


def _earlier(request: Request, browser_id: str) -> dict[str, Any] | None:
    """A browser this server no longer holds (an earlier run's), from the store."""
    persistence = getattr(request.app.state, "persistence", None)
    if persistence is None:
        return None
    found: dict[str, Any] | None = persistence.records.earlier(browser_id, public_base(request))
    return found


def get(request: Request, browser_id: str) -> dict[str, Any]:
    try:
        return present(_manager(request).get(browser_id), request)
    except ApiProblem as problem:
        earlier = _earlier(request, browser_id) if problem.status_code == 404 else None
        if earlier is None:
            raise
        return earlier


async def stop(request: Request, browser_id: str) -> dict[str, Any]:
    try:
        return present(await _manager(request).stop(browser_id), request)
    except ApiProblem as problem:
        earlier = _earlier(request, browser_id) if problem.status_code == 404 else None
        if earlier is None:
            raise
    if earlier["status"] == BrowserStatus.ACTIVE.value:
        # Still running, so not this server's: its Chromium answers to the server that
        # launched it (or died with it, and the next server started here closes the record).
        raise ApiProblem(
            409,
            f"Browser {browser_id!r} is run by another bu-cdp server using the same data "
            "folder; this server cannot stop it: stop it through the server that created it.",
        )
    return earlier


def listing(
    request: Request,
    statuses: Collection[str] | None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[builtins.list[dict[str, Any]], int]:
    """One page of the browsers of the data folder, newest first, and how many there are.

    Every browser that started is in the store (the ledger), whichever run of which server
    started it: this server's own are shown live, the others as the store has them.
    ``statuses`` keeps only browsers in those states. Reads the store: call it off the loop.
    """
    store = request.app.state.persistence.store
    where = ""
    params: tuple[str, ...] = ()
    if statuses is not None:
        where = f"WHERE status IN ({', '.join('?' * len(statuses))})"
        params = tuple(statuses)
    total = store.row(f"SELECT count(*) AS n FROM browsers {where}", params)["n"]
    rows = store.rows(
        f"SELECT id FROM browsers {where} ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
        (*params, -1 if limit is None else limit, offset),
    )
    found = []
    for row in rows:
        try:
            found.append(get(request, row["id"]))
        except ApiProblem:  # deleted from the store in the meantime
            continue
    return found, total
