"""GET /health: is the server up? No key needed, so it says nothing about anyone's browsers."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bu_cdp.server.browsers.manager import BrowserManager

router = APIRouter(tags=["Server"])


@router.get("/health")
async def health(request: Request) -> JSONResponse:
    manager: BrowserManager = request.app.state.manager
    if manager.closing:
        return JSONResponse({"status": "shutting down"}, status_code=503)
    return JSONResponse({"status": "ok"})
