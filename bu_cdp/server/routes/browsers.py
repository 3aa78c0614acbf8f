"""POST /browsers, GET /browsers/{id}, POST /browsers/{id}/stop."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from bu_cdp.server.browsers import BrowserManager, ManagedBrowser
from bu_cdp.server.problems import ApiProblem
from bu_cdp.server.relay import cdp_path
from bu_cdp.server.schemas import BrowserCreateRequest

router = APIRouter(tags=["Browsers"])


def public_base(request: Request) -> str:
    """Where clients reach this server: the configured public URL, or the request's own."""
    configured = request.app.state.config.public_url
    return (configured or str(request.base_url)).rstrip("/")


def present(browser: ManagedBrowser, request: Request) -> dict[str, Any]:
    base = public_base(request)
    ws_base = "ws" + base[len("http") :]
    answer = {
        "id": browser.id,
        "status": browser.status.value,
        "cdp_url": ws_base + cdp_path(browser),
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
    browser = await _manager(request).create(body)
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
        return _earlier(request, browser_id, problem)
