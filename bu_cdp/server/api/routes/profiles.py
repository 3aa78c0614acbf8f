"""The profile paths: create, list (``query``), get, rename, delete.

Plain functions, which FastAPI runs in its thread pool: the store waits for the disk.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from bu_cdp.server.shared.names import NameRequest
from bu_cdp.server.shared.problems import invalid
from bu_cdp.server.storage.profiles import ProfileStore

router = APIRouter(tags=["Profiles"])


def _profiles(request: Request) -> ProfileStore:
    profiles: ProfileStore = request.app.state.persistence.profiles
    return profiles


@router.post("/profiles")
def create_profile(body: NameRequest, request: Request) -> dict[str, Any]:
    if body.name is None:
        raise invalid("name", "name is required")
    return _profiles(request).create(body.name)


@router.get("/profiles")
def list_profiles(request: Request, query: str | None = None) -> list[dict[str, Any]]:
    return _profiles(request).list(query)


@router.get("/profiles/{profile_id}")
def get_profile(profile_id: str, request: Request) -> dict[str, Any]:
    return _profiles(request).get(profile_id)


@router.put("/profiles/{profile_id}")
def rename_profile(profile_id: str, body: NameRequest, request: Request) -> dict[str, Any]:
    return _profiles(request).rename(profile_id, body.name)


@router.delete("/profiles/{profile_id}", status_code=204)
def delete_profile(profile_id: str, request: Request) -> Response:
    _profiles(request).delete(profile_id)
    return Response(status_code=204)
