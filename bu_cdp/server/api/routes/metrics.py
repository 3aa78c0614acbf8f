"""GET /api/v3/metrics (behind the key): what the server is doing, for operators.

An extension of the v3 API, which has no such operation; the hosted service keeps these
figures to itself.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from bu_cdp.server.browsers.manager import BrowserManager

router = APIRouter(tags=["Server"])


@router.get("/metrics")
async def metrics(request: Request) -> dict[str, Any]:
    manager: BrowserManager = request.app.state.manager
    return manager.snapshot()
