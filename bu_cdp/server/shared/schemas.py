"""Request bodies as the local server checks them: the contract's models with its limits."""

from __future__ import annotations

import ipaddress
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AliasChoices, Field, field_validator

from bu_cdp import models
from bu_cdp.server.shared.problems import excerpt, readable

MIN_SCREEN = models.MIN_SCREEN
MAX_SCREEN = models.MAX_SCREEN


class CustomProxyRequest(models.CustomProxy):
    """An upstream HTTP proxy for one browser (docs/proxies.md).

    ``host`` and ``port`` are required; ``username``/``password`` are sent to the proxy as
    Basic ``Proxy-Authorization``; ``scheme`` may be left out or be ``http``.
    """

    host: str = Field(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9.\-\[\]:]+$")
    port: int = Field(ge=1, le=65535, strict=True)
    # Basic authentication joins user and password with ":", so the user cannot hold one.
    username: str | None = Field(
        default=None, max_length=256, pattern=r"^[^:\x00-\x1f\x7f]*$", repr=False
    )
    password: str | None = Field(default=None, max_length=256, repr=False)
    scheme: str | None = None

    @field_validator("host")
    @classmethod
    def _bare_host(cls, host: str) -> str:
        """A host name or an IP address, IPv6 with or without brackets (kept without)."""
        bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        if ":" in bare:
            try:
                ipaddress.IPv6Address(bare)
            except ValueError:
                raise ValueError("host must not include a port: give it in port") from None
        elif not bare or "[" in bare or "]" in bare:
            raise ValueError("host must be a host name or an IP address")
        return bare

    @field_validator("scheme")
    @classmethod
    def _only_http(cls, scheme: str | None) -> str | None:
        if scheme is not None and scheme.lower() != "http":
            raise ValueError(
                f"only http proxies are supported (plain requests and CONNECT tunnels), "
                f"not {scheme!r}"
            )
        return scheme


class BrowserCreateRequest(models.BrowserCreate):
    custom_proxy: CustomProxyRequest | None = None
    proxy_country_code: str | None = Field(
        default=None, min_length=2, max_length=8, pattern=r"^[A-Za-z]{2}[A-Za-z0-9_-]*$"
    )
    # strict: "5" and true are not numbers of minutes (nor of pixels, below)
    timeout: int | None = Field(
        default=None, ge=1, le=models.MAX_TIMEOUT_MINUTES, description="minutes", strict=True
    )
    browser_screen_width: int | None = Field(
        default=None,
        ge=MIN_SCREEN[0],
        le=MAX_SCREEN[0],
        strict=True,
        validation_alias=AliasChoices("browserScreenWidth", "browser_screen_width"),
        serialization_alias="browserScreenWidth",
    )
    browser_screen_height: int | None = Field(
        default=None,
        ge=MIN_SCREEN[1],
        le=MAX_SCREEN[1],
        strict=True,
        validation_alias=AliasChoices("browserScreenHeight", "browser_screen_height"),
        serialization_alias="browserScreenHeight",
    )


# Request fields whose values may hold credentials: a 422 about them names the field and the
# problem but never echoes what was sent.
SECRET_FIELDS = frozenset({"custom_proxy"})


async def handle_invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's own 422 answer, with a bounded excerpt of what was sent (nothing of secret
    fields), always encodable: a lone surrogate or a NaN in the input is a 422, never a 500."""
    assert isinstance(exc, RequestValidationError)
    errors: list[dict[str, Any]] = []
    for error in exc.errors():
        loc = [excerpt(part) for part in error.get("loc", ())]
        shown = {"type": error.get("type"), "loc": loc, "msg": readable(str(error.get("msg")))}
        if not SECRET_FIELDS.intersection(str(part) for part in loc):
            if "input" in error:
                shown["input"] = excerpt(error["input"])
            if "ctx" in error:
                shown["ctx"] = excerpt(error["ctx"])
        errors.append(shown)
    return JSONResponse({"detail": errors}, status_code=422)
