"""The hosted face's sessions: create, envelope list (``page``, ``page_size``), get (with
``recordingUrls``), delete, stop (``strategy``), messages (``after``/``before`` cursors).

Every route calls the same ``SessionManager`` functions as the seed face's (creating one answers
whatever the seed face answers); only the words differ. Plain functions, run in FastAPI's
thread pool: the store waits for the disk.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response

from bu_cdp.server.api import hosted_views
from bu_cdp.server.api.hosted_errors import HostedRoute
from bu_cdp.server.api.hosted_schemas import (
    MAX_PAGE_SIZE,
    HostedSessionCreateRequest,
    HostedSessionStopRequest,
    StopStrategy,
)
from bu_cdp.server.api.routes.live import recording_url_for
from bu_cdp.server.sessions.agent.llm import NO_AGENT
from bu_cdp.server.sessions.manager import SessionManager
from bu_cdp.server.shared.addresses import public_base
from bu_cdp.server.shared.problems import ApiProblem, invalid

router = APIRouter(tags=["Sessions"], route_class=HostedRoute)


def _sessions(request: Request) -> SessionManager:
    sessions: SessionManager = request.app.state.persistence.sessions
    return sessions


def _present(request: Request, view: dict[str, Any]) -> dict[str, Any]:
    try:
        found = _sessions(request).recording(
            view["id"], lambda browser_id: recording_url_for(request, browser_id)
        )
        urls = [found["recording_url"]]
    except ApiProblem as problem:
        if problem.status_code != 404:
            raise
        urls = []  # no recording (yet)
    return hosted_views.session(view, urls)


@router.post("/sessions")
async def create_session(body: HostedSessionCreateRequest, request: Request) -> dict[str, Any]:
    sessions = _sessions(request)
    if sessions.llm is None:  # 501 before the body's words are weighed, as on the seed face
        raise ApiProblem(501, NO_AGENT)
    created = await sessions.create(body.to_seed(), public_base(request))
    return await asyncio.to_thread(_present, request, created)


@router.get("/sessions")
def list_sessions(
    request: Request,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
) -> dict[str, Any]:
    found = _sessions(request).list(None, None)
    items = [_present(request, view) for view in hosted_views.page_window(found, page, page_size)]
    return {"sessions": items, "total": len(found), "page": page, "pageSize": page_size}


@router.get("/sessions/{session_id}")
def get_session(session_id: uuid.UUID, request: Request) -> dict[str, Any]:
    return _present(request, _sessions(request).get(str(session_id)))


@router.delete("/sessions/{session_id}", status_code=204)
async def delete_session(session_id: uuid.UUID, request: Request) -> Response:
    await _sessions(request).delete(str(session_id))
    return Response(status_code=204)


@router.post("/sessions/{session_id}/stop")
async def stop_session(
    session_id: uuid.UUID,
    request: Request,
    body: Annotated[HostedSessionStopRequest | None, Body()] = None,
) -> dict[str, Any]:
    sessions = _sessions(request)
    if body is not None and body.strategy == StopStrategy.TASK:
        # The local runner has no way to end a task and keep its session: it stays as it is.
        found = await asyncio.to_thread(sessions.get, str(session_id))
        return await asyncio.to_thread(_present, request, found)
    stopped = await sessions.stop(str(session_id), public_base(request))
    return await asyncio.to_thread(_present, request, stopped)


@router.get("/sessions/{session_id}/messages")
def session_messages(
    session_id: uuid.UUID,
    request: Request,
    after: uuid.UUID | None = None,
    before: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 10,
) -> dict[str, Any]:
    sessions = _sessions(request)
    view = sessions.get(str(session_id))
    shown = [
        hosted_views.message(item, index, view)
        for index, item in enumerate(sessions.messages(str(session_id)))
    ]
    ids = [item["id"] for item in shown]
    start, end = 0, len(shown)
    for cursor, name in ((after, "after"), (before, "before")):
        if cursor is not None and str(cursor) not in ids:
            raise invalid(name, f"{name} is not a message of this session", "query")
    if after is not None:
        start = ids.index(str(after)) + 1
    if before is not None:
        end = ids.index(str(before))
    window = shown[start:end]
    # ``before`` pages backwards: the messages just before the cursor.
    page = window[-limit:] if before is not None and after is None else window[:limit]
    return {"messages": page, "hasMore": len(window) > len(page)}
