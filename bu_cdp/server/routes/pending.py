"""A clear 501 for every operation of the spec that this server does not serve (yet).

Built from ``openapi.yaml`` itself, so the list shrinks by itself as routes are added.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from bu_cdp.server.problems import ApiProblem

HTTP_METHODS = ("get", "put", "post", "delete", "patch")


def spec_operations() -> list[tuple[str, str, str]]:
    """(method, path, operationId) of every operation in the shipped spec."""
    text = resources.files("bu_cdp").joinpath("openapi.yaml").read_text()
    spec: dict[str, Any] = yaml.safe_load(text)
    return [
        (method.upper(), path, operation.get("operationId", f"{method} {path}"))
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def pending_router(app: FastAPI, prefix: str) -> APIRouter:
    served = {
        (method, route.path)
        for route in app.routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    }
    router = APIRouter()
    for method, path, operation_id in spec_operations():
        if (method, prefix + path) in served:
            continue

        async def not_implemented(_op: str = operation_id) -> None:
            raise ApiProblem(501, f"{_op} is not implemented by the bu-cdp local server yet")

        router.add_api_route(
            path,
            not_implemented,
            methods=[method],
            include_in_schema=False,
            name=operation_id,
        )
    return router
