"""POST /browsers, GET /browsers/{id}, POST /browsers/{id}/stop."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request

from bu_cdp.models import BrowserStatus
from bu_cdp.server.addresses import public_base
from bu_cdp.server.browsers import BrowserManager, ManagedBrowser
from bu_cdp.server.problems import ApiProblem
from bu_cdp.server.relay import cdp_url
from bu_cdp.server.schemas import BrowserCreateRequest

log = logging.getLogger("bu_cdp.server")
router = APIRouter(tags=["Browsers"])

CLIENT_GONE = "the client that created it went away before the answer (it gave up waiting)"


def present(browser: ManagedBrowser, request: Request) -> dict[str, Any]:
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


@router.post("/browsers")
async def create_browser(body: BrowserCreateRequest, request: Request) -> dict[str, Any]:
    manager = _manager(request)
    browser = await manager.create(body)
    if await request.is_disconnected():
        # Nobody will ever learn its address: stop it now rather than at its timeout.
        log.info("browser %s: %s; stopping it", browser.id, CLIENT_GONE)
        await manager.stop(browser.id, reason=CLIENT_GONE)
    return present(browser, request)


def _earlier(request: Request, browser_id: str, problem: ApiProblem) -> dict[str, Any]:
    """A browser this server no longer holds (an earlier run's), from the store; else 404."""
    persistence = getattr(request.app.state, "persistence", None)
    earlier: dict[str, Any] | None = None
    if persistence is not None:
        earlier = persistence.records.earlier(browser_id, public_base(request))
    if problem.status_code != 404 or earlier is None:
        raise problem
    return earlier


@router.get("/browsers/{browser_id}")
async def get_browser(browser_id: str, request: Request) -> dict[str, Any]:
    try:
        return present(_manager(request).get(browser_id), request)
    except ApiProblem as problem:
        return _earlier(request, browser_id, problem)


@router.post("/browsers/{browser_id}/stop")
async def stop_browser(browser_id: str, request: Request) -> dict[str, Any]:
    try:
        return present(await _manager(request).stop(browser_id), request)
    except ApiProblem as problem:
        earlier = _earlier(request, browser_id, problem)
    if earlier["status"] == BrowserStatus.ACTIVE.value:
        # Still running, so not this server's: its Chromium answers to the server that
        # launched it (or died with it, and the next server started here closes the record).
        raise ApiProblem(
            409,
            f"Browser {browser_id!r} is run by another bu-cdp server using the same data "
            "folder; this server cannot stop it: stop it through the server that created it.",
        )
    return earlier
