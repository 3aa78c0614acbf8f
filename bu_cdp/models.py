"""Pydantic models of the v3 contract (``openapi.yaml``), shared by the client and the server.

Reading rules (DESIGN.md): unknown fields are kept (``extra="allow"``), a status never seen
before stays a plain string, and the hosted API's camelCase names (``cdpUrl``, ``liveUrl``,
``recordingUrl``, ``createdAt``) are accepted as aliases of the spec's names.

Writing rule: a request body carries exactly the spec's field names, including its mix of
``proxy_country_code`` and ``browserScreenWidth``; ``to_body()`` produces it. The hosted
dialect's bodies (camelCase) are the client's, in ``bu_cdp/client/_bodies.py``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field


def _alias(name: str, camel: str) -> Any:
    """A field read under its spec name or its hosted camelCase name."""
    return Field(default=None, validation_alias=AliasChoices(name, camel))


class ApiModel(BaseModel):
    """A response object: tolerant of fields and statuses this version does not know."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class RequestModel(BaseModel):
    """A request body: Python names in, the spec's names out."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    def to_body(self) -> dict[str, Any]:
        """The JSON body, with the spec's field names and without unset fields."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class SessionStatus(StrEnum):
    CREATED = "created"  # hosted: the sandbox is starting
    RUNNING = "running"
    IDLE = "idle"
    STOPPED = "stopped"
    ERROR = "error"
    TIMED_OUT = "timed_out"


class BrowserStatus(StrEnum):
    ACTIVE = "active"
    STOPPED = "stopped"
    ERROR = "error"
    TIMED_OUT = "timed_out"


TERMINAL_SESSION_STATUSES = frozenset({"stopped", "error", "timed_out"})
MAX_TIMEOUT_MINUTES = 240  # the spec's maximum for a browser's timeout
# A browser's screen in CSS pixels, as the local server accepts it; the client checks the same.
MIN_SCREEN = (320, 240)
MAX_SCREEN = (3840, 2160)


class SessionCreate(RequestModel):
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


class Session(ApiModel):
    id: str | None = None
    # A known status becomes a SessionStatus; one this version has never seen stays a str.
    status: SessionStatus | str | None = Field(default=None, union_mode="left_to_right")
    output: Any = None
    live_url: str | None = _alias("live_url", "liveUrl")
    steps: list[dict[str, Any]] | None = None
    recording_urls: list[str] | None = _alias("recording_urls", "recordingUrls")  # hosted


class CustomProxy(RequestModel):
    """An upstream proxy for one browser. The local server supports ``scheme`` ``http`` only.

    The password is sent (``to_body()``) but never shown: not in ``repr``/``str``, so not in
    an assertion message, a log line or the repr of anything holding it.
    """

    host: str
    port: int
    username: str | None = None
    password: str | None = Field(default=None, repr=False)
    scheme: str | None = None


class BrowserCreate(RequestModel):
    proxy_country_code: str | None = None
    # A dict that is not a CustomProxy (a field this version does not know) is sent as it is;
    # it may hold a password, so the field stays out of the repr.
    custom_proxy: CustomProxy | dict[str, Any] | None = Field(default=None, repr=False)
    profile_id: str | None = None
    enable_recording: bool | None = None
    browser_screen_width: int | None = Field(
        default=None,
        validation_alias=AliasChoices("browserScreenWidth", "browser_screen_width"),
        serialization_alias="browserScreenWidth",
    )
    browser_screen_height: int | None = Field(
        default=None,
        validation_alias=AliasChoices("browserScreenHeight", "browser_screen_height"),
        serialization_alias="browserScreenHeight",
    )
    timeout: int | None = Field(default=None, ge=1, le=MAX_TIMEOUT_MINUTES)  # minutes


class Browser(ApiModel):
    id: str | None = None
    cdp_url: str | None = _alias("cdp_url", "cdpUrl")
    live_url: str | None = _alias("live_url", "liveUrl")
    recording_url: str | None = _alias("recording_url", "recordingUrl")
    status: BrowserStatus | str | None = Field(default=None, union_mode="left_to_right")
    # Hosted: False once it is known no recording will come (polling for one then stops).
    recording_available: bool | None = _alias("recording_available", "recordingAvailable")


class NameBody(RequestModel):
    """Body of the create and rename operations of workspaces and profiles."""

    name: str | None = None


class Workspace(ApiModel):
    id: str | None = None
    name: str | None = None
    created_at: datetime | None = _alias("created_at", "createdAt")


class Profile(ApiModel):
    id: str | None = None
    name: str | None = None
    created_at: datetime | None = _alias("created_at", "createdAt")


class WorkspaceFile(ApiModel):
    """One file of a workspace (the spec leaves the item open; these are the local server's)."""

    path: str | None = None
    size: int | None = None
    modified_at: datetime | None = Field(
        default=None, validation_alias=AliasChoices("modified_at", "modifiedAt", "lastModified")
    )
    url: str | None = None  # hosted, with include_urls: a short-lived download address


class BrowserDownload(WorkspaceFile):
    """A file a browser downloaded (hosted ``GET /browsers/{id}/downloads``)."""


class WorkspaceSize(ApiModel):
    bytes: int | None = None


class Recording(ApiModel):
    recording_url: str | None = _alias("recording_url", "recordingUrl")
    recording_urls: list[str] | None = _alias("recording_urls", "recordingUrls")  # hosted


class Usage(ApiModel):
    """Billing usage; the spec leaves it open, so every field the API sends is kept."""


class Balance(ApiModel):
    balance: float | None = None


class Account(ApiModel):
    """Hosted ``GET /billing/account``: credits, plan and rate limit; every field kept."""

    name: str | None = None
    total_credits_balance_usd: float | None = _alias(
        "total_credits_balance_usd", "totalCreditsBalanceUsd"
    )
    monthly_credits_balance_usd: float | None = _alias(
        "monthly_credits_balance_usd", "monthlyCreditsBalanceUsd"
    )
    additional_credits_balance_usd: float | None = _alias(
        "additional_credits_balance_usd", "additionalCreditsBalanceUsd"
    )
    rate_limit: int | None = _alias("rate_limit", "rateLimit")
    plan_info: dict[str, Any] | None = _alias("plan_info", "planInfo")
    is_free_tier: bool | None = _alias("is_free_tier", "isFreeTier")
    project_id: str | None = _alias("project_id", "projectId")


class Message(ApiModel):
    """One agent message of a session; the spec leaves it open."""
