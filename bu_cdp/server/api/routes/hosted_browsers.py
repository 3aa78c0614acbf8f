"""The hosted face's browsers: create (201), list (envelope, ``filterBy``), get, stop by
``PATCH`` with ``{"action": "stop"}``, downloads. The work is ``browser_views``' (shared with
the seed face); these routes only translate words.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from bu_cdp.server.api import browser_views, hosted_views
from bu_cdp.server.api.hosted_errors import HostedRoute
from bu_cdp.server.api.hosted_schemas import (
    MAX_PAGE_SIZE,
    SEED_STATUSES,
    HostedBrowserCreateRequest,
    HostedBrowserFilter,
    HostedBrowserUpdate,
)
from bu_cdp.server.storage.billing import Pricing

router = APIRouter(tags=["Browsers"], route_class=HostedRoute)

MAX_PAGE_NUMBER = 2**31  # past any real list; keeps the offset an SQLite integer


def _pricing(request: Request) -> Pricing:
    pricing: Pricing = request.app.state.persistence.billing.pricing
    return pricing


def _present(request: Request, view: dict[str, Any]) -> dict[str, Any]:
    return hosted_views.browser(view, _pricing(request))


@router.post("/browsers", status_code=201)
async def create_browser(body: HostedBrowserCreateRequest, request: Request) -> dict[str, Any]:
    countries = {code.strip().lower() for code in request.app.state.config.proxies}
    seed = body.to_seed(countries)
    return _present(request, await browser_views.create(request, seed))


@router.get("/browsers")
def list_browsers(
    request: Request,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, alias="pageSize")] = 10,
    page_number: Annotated[int, Query(ge=1, le=MAX_PAGE_NUMBER, alias="pageNumber")] = 1,
    filter_by: Annotated[HostedBrowserFilter | None, Query(alias="filterBy")] = None,
) -> dict[str, Any]:
    """Plain function, run in FastAPI's thread pool: it reads the store."""
    statuses = None if filter_by is None else SEED_STATUSES[filter_by]
    views, total = browser_views.listing(
        request, statuses, page_size, (page_number - 1) * page_size
    )
    items = [_present(request, view) for view in views]
    return hosted_views.page_envelope(items, total, page_number, page_size)


@router.get("/browsers/{session_id}")
async def get_browser(session_id: uuid.UUID, request: Request) -> dict[str, Any]:
    return _present(request, browser_views.get(request, str(session_id)))


@router.patch("/browsers/{session_id}")
async def update_browser(
    session_id: uuid.UUID, body: HostedBrowserUpdate, request: Request
) -> dict[str, Any]:
    # ``stop`` is the document's only action.
    return _present(request, await browser_views.stop(request, str(session_id)))


@router.get("/browsers/{session_id}/downloads")
async def list_downloads(
    session_id: uuid.UUID,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    cursor: str | None = None,
    include_urls: Annotated[bool, Query(alias="includeUrls")] = False,
) -> dict[str, Any]:
    """What the browser saved to the server: nothing, here. A local browser's downloads reach
    the client that drives it over CDP (Playwright's ``download.save_as``), not a bucket."""
    browser_views.get(request, str(session_id))  # 404 for a browser that never was
    return {"files": [], "nextCursor": None, "hasMore": False}
