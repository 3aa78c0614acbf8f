"""The session paths of the seed dialect: thin, all of the work is in ``sessions.manager``.

Creating and stopping are async (they wait for a browser); the rest are plain functions,
which FastAPI runs in its thread pool: the store waits for the disk.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from bu_cdp.models import SessionCreate
from bu_cdp.server.api.routes.live import recording_url_for
from bu_cdp.server.sessions.manager import SessionManager
from bu_cdp.server.shared.addresses import public_base

router = APIRouter(tags=["Sessions"])

MAX_PAGE = 1000


def _sessions(request: Request) -> SessionManager:
    sessions: SessionManager = request.app.state.persistence.sessions
    return sessions


@router.post("/sessions")
async def create_session(body: SessionCreate, request: Request) -> dict[str, Any]:
    return await _sessions(request).create(body, public_base(request))


@router.get("/sessions")
def list_sessions(
    request: Request,
    limit: int | None = Query(default=None, ge=0, le=MAX_PAGE),
    offset: int | None = Query(default=None, ge=0, le=2**62),
) -> list[dict[str, Any]]:
    return _sessions(request).list(limit, offset, public_base(request))


@router.get("/sessions/{session_id}")
def get_session(session_id: str, request: Request) -> dict[str, Any]:
    return _sessions(request).get(session_id, public_base(request))


@router.post("/sessions/{session_id}/stop")
async def stop_session(session_id: str, request: Request) -> dict[str, Any]:
    return await _sessions(request).stop(session_id, public_base(request))


@router.get("/sessions/{session_id}/messages")
def session_messages(session_id: str, request: Request) -> list[dict[str, Any]]:
    return _sessions(request).messages(session_id)


@router.post("/sessions/{session_id}/recording")
def session_recording(session_id: str, request: Request) -> dict[str, Any]:
    return _sessions(request).recording(
        session_id, lambda browser_id: recording_url_for(request, browser_id)
    )
