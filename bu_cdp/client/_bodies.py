"""Request bodies of the hosted dialect: the same Python keywords as the seed's, camelCase out.

The seed bodies are ``bu_cdp.models``' (the spec's mix of names). These are what
``openapi.hosted.json`` defines, and nothing more: an unknown keyword is a TypeError at the call.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from bu_cdp.models import MAX_TIMEOUT_MINUTES, CustomProxy, RequestModel

# Fields whose ``None`` the hosted API reads as a choice, so it is sent as ``null``.
_NULL_IS_A_CHOICE = frozenset({"proxyCountryCode"})


class CamelBody(RequestModel):
    """Python (or camelCase) names in, camelCase out; ``None`` is left out unless it means
    something (``proxy_country_code=None``: no proxy)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    def to_body(self) -> dict[str, Any]:
        body = self.model_dump(by_alias=True, exclude_unset=True, mode="json")
        return {k: v for k, v in body.items() if v is not None or k in _NULL_IS_A_CHOICE}


class HostedCustomProxy(CamelBody):
    host: str = Field(min_length=1, max_length=255)
    port: int = Field(ge=1, le=65535)
    username: str | None = None
    password: str | None = Field(default=None, repr=False)
    ignore_cert_errors: bool | None = None


def _lower_code(code: Any) -> Any:
    """The hosted API's country codes are lower-case (``us``, ``de``)."""
    return code.lower() if isinstance(code, str) else code


class HostedBrowserCreate(CamelBody):
    proxy_country_code: str | None = None
    profile_id: str | None = None
    timeout: int | None = Field(default=None, ge=1, le=MAX_TIMEOUT_MINUTES)  # minutes
    browser_screen_width: int | None = Field(default=None, ge=320, le=6144)
    browser_screen_height: int | None = Field(default=None, ge=320, le=3456)
    allow_resizing: bool | None = None
    custom_proxy: HostedCustomProxy | None = Field(default=None, repr=False)
    enable_recording: bool | None = None

    _lower = field_validator("proxy_country_code", mode="before")(_lower_code)

    @field_validator("custom_proxy", mode="before")
    @classmethod
    def _from_seed_proxy(cls, proxy: Any) -> Any:
        """A seed ``CustomProxy`` (or its dict) is the same proxy; the hosted one has no
        ``scheme`` field, so one given cannot be said there."""
        if isinstance(proxy, CustomProxy):
            proxy = proxy.model_dump(exclude_none=True)
        if isinstance(proxy, dict) and "scheme" in proxy:
            proxy = dict(proxy)
            if proxy.pop("scheme") not in (None, "http"):
                raise ValueError("the hosted API's customProxy takes no scheme (http only)")
        return proxy


class HostedSessionCreate(CamelBody):
    task: str
    model: str | None = None
    session_id: str | None = None
    keep_alive: bool | None = None
    enable_recording: bool | None = None
    workspace_id: str | None = None
    profile_id: str | None = None
    output_schema: dict[str, Any] | None = None
    proxy_country_code: str | None = None
    agentmail: bool | None = None
    max_cost_usd: float | None = None

    _lower = field_validator("proxy_country_code", mode="before")(_lower_code)


class HostedSessionStop(CamelBody):
    strategy: Literal["task", "session"] | None = None


class HostedBrowserStop(CamelBody):
    """``PATCH /browsers/{id}``: the hosted API's stop."""

    action: Literal["stop"] = "stop"

    def to_body(self) -> dict[str, Any]:
        return {"action": self.action}
