"""POST /browsers, GET /browsers/{id}, POST /browsers/{id}/stop, and GET /browsers.

``GET /browsers`` is an extension of the seed spec (the hosted API has one): every browser of
the data folder, newest first, optionally only those in one ``status``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from bu_cdp.models import BrowserStatus
from bu_cdp.server.api import browser_views
from bu_cdp.server.shared.schemas import BrowserCreateRequest

router = APIRouter(tags=["Browsers"])


@router.post("/browsers")
async def create_browser(body: BrowserCreateRequest, request: Request) -> dict[str, Any]:
    return await browser_views.create(request, body)


@router.get("/browsers")
def list_browsers(request: Request, status: BrowserStatus | None = None) -> list[dict[str, Any]]:
    """Plain function, run in FastAPI's thread pool: it reads the store."""
    statuses = None if status is None else [status.value]
    return browser_views.listing(request, statuses)[0]


@router.get("/browsers/{browser_id}")
async def get_browser(browser_id: str, request: Request) -> dict[str, Any]:
    return browser_views.get(request, browser_id)


@router.post("/browsers/{browser_id}/stop")
async def stop_browser(browser_id: str, request: Request) -> dict[str, Any]:
    return await browser_views.stop(request, browser_id)
