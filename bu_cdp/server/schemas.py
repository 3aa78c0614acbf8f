"""Request bodies as the local server checks them: the contract's models with its limits."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from bu_cdp import models

MIN_SCREEN = (320, 240)
MAX_SCREEN = (3840, 2160)


class CustomProxyRequest(models.CustomProxy):
    host: str = Field(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9.\-\[\]:]+$")
    port: int = Field(ge=1, le=65535)
    username: str | None = Field(default=None, max_length=256)
    password: str | None = Field(default=None, max_length=256)
    scheme: str | None = Field(default=None, pattern=r"^(http|https|socks5)$")


class BrowserCreateRequest(models.BrowserCreate):
    custom_proxy: CustomProxyRequest | None = None
    proxy_country_code: str | None = Field(
        default=None, min_length=2, max_length=8, pattern=r"^[A-Za-z]{2}[A-Za-z0-9_-]*$"
    )
    timeout: int | None = Field(default=None, ge=1, le=240, description="minutes")
    browser_screen_width: int | None = Field(
        default=None,
        ge=MIN_SCREEN[0],
        le=MAX_SCREEN[0],
        validation_alias=AliasChoices("browserScreenWidth", "browser_screen_width"),
        serialization_alias="browserScreenWidth",
    )
    browser_screen_height: int | None = Field(
        default=None,
        ge=MIN_SCREEN[1],
        le=MAX_SCREEN[1],
        validation_alias=AliasChoices("browserScreenHeight", "browser_screen_height"),
        serialization_alias="browserScreenHeight",
    )
