"""The hosted face's profiles: envelope list (``pageSize``, ``pageNumber``, ``query``), create
(201, name optional), get, rename by ``PATCH``, delete. The work is ``ProfileStore``', as for the
seed face. Plain functions, run in FastAPI's thread pool: the store waits for the disk.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response

from bu_cdp.server.api import hosted_views
from bu_cdp.server.api.hosted_errors import HostedRoute
from bu_cdp.server.api.hosted_schemas import MAX_PAGE_SIZE, HostedNameRequest
from bu_cdp.server.storage.profiles import ProfileStore

router = APIRouter(tags=["Profiles"], route_class=HostedRoute)


def _profiles(request: Request) -> ProfileStore:
    profiles: ProfileStore = request.app.state.persistence.profiles
    return profiles


@router.get("/profiles")
def list_profiles(
    request: Request,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, alias="pageSize")] = 10,
    page_number: Annotated[int, Query(ge=1, alias="pageNumber")] = 1,
    query: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    found = _profiles(request).list(query)
    items = [
        hosted_views.profile(v) for v in hosted_views.page_window(found, page_number, page_size)
    ]
    return hosted_views.page_envelope(items, len(found), page_number, page_size)


@router.post("/profiles", status_code=201)
def create_profile(
    request: Request, body: Annotated[HostedNameRequest | None, Body()] = None
) -> dict[str, Any]:
    name = body.name if body is not None else None
    return hosted_views.profile(_profiles(request).create(name or ""))


@router.get("/profiles/{profile_id}")
def get_profile(profile_id: uuid.UUID, request: Request) -> dict[str, Any]:
    return hosted_views.profile(_profiles(request).get(str(profile_id)))


@router.patch("/profiles/{profile_id}")
def update_profile(
    profile_id: uuid.UUID, body: HostedNameRequest, request: Request
) -> dict[str, Any]:
    return hosted_views.profile(_profiles(request).rename(str(profile_id), body.name))


@router.delete("/profiles/{profile_id}", status_code=204)
def delete_profile(profile_id: uuid.UUID, request: Request) -> Response:
    _profiles(request).delete(str(profile_id))
    return Response(status_code=204)
