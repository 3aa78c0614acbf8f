"""Request bodies of the hosted face, as the hosted document names them.

Fields are read in camelCase (the document's words, what the official SDK sends) or in
snake_case, as the hosted API itself accepts. A field the document does not have is refused
with a 422 naming it, rather than silently dropped. Each create request turns into the seed
face's request (``to_seed``), so both faces run one implementation.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator

from bu_cdp import models
from bu_cdp.models import SessionCreate
from bu_cdp.server.shared.names import NameRequest
from bu_cdp.server.shared.problems import ApiProblem, first_invalid, invalid
from bu_cdp.server.shared.schemas import MAX_SCREEN, BrowserCreateRequest, CustomProxyRequest

HOSTED_MIN_SCREEN = 320  # the hosted document's least width and height
DEFAULT_PROXY_COUNTRY = "us"  # the hosted API's proxy when a create names none
TIMEOUT_LIMIT = "Maximum session timeout is 4 hours (240 minutes)."  # its 403's words


def either(camel: str, snake: str) -> Any:
    return AliasChoices(camel, snake)


class HostedRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class HostedCustomProxyRequest(CustomProxyRequest):
    ignore_cert_errors: bool = Field(
        default=False, validation_alias=either("ignoreCertErrors", "ignore_cert_errors")
    )

    @field_validator("ignore_cert_errors")
    @classmethod
    def _checked_certificates(cls, value: bool) -> bool:
        if value:
            raise ValueError(
                "this server always checks certificates: ignoreCertErrors is not supported"
            )
        return value


class HostedBrowserCreateRequest(HostedRequest):
    profile_id: uuid.UUID | None = Field(
        default=None, validation_alias=either("profileId", "profile_id")
    )
    # Omitted means the hosted default (a US proxy); null means no proxy.
    proxy_country_code: str | None = Field(
        default=None,
        min_length=2,
        max_length=8,
        pattern=r"^[A-Za-z]{2}[A-Za-z0-9_-]*$",
        validation_alias=either("proxyCountryCode", "proxy_country_code"),
    )
    timeout: int | None = Field(default=None, ge=1, description="minutes")
    browser_screen_width: int | None = Field(
        default=None,
        ge=HOSTED_MIN_SCREEN,
        le=MAX_SCREEN[0],
        validation_alias=either("browserScreenWidth", "browser_screen_width"),
    )
    browser_screen_height: int | None = Field(
        default=None,
        ge=HOSTED_MIN_SCREEN,
        le=MAX_SCREEN[1],
        validation_alias=either("browserScreenHeight", "browser_screen_height"),
    )
    # Chromium here always lets a page resize its window: accepted, changes nothing.
    allow_resizing: bool = Field(
        default=False, validation_alias=either("allowResizing", "allow_resizing")
    )
    custom_proxy: HostedCustomProxyRequest | None = Field(
        default=None, validation_alias=either("customProxy", "custom_proxy"), repr=False
    )
    enable_recording: bool = Field(
        default=False, validation_alias=either("enableRecording", "enable_recording")
    )

    def to_seed(self, country_proxies: set[str]) -> BrowserCreateRequest:
        """The seed face's request for the same browser.

        ``country_proxies`` are the country codes this server has a proxy for. Left out, the
        hosted API's proxy is a US one: here that means this server's ``us`` proxy when it
        has one, else a direct connection (a local server has no proxies of its own).
        """
        if self.timeout is not None and self.timeout > models.MAX_TIMEOUT_MINUTES:
            raise ApiProblem(403, TIMEOUT_LIMIT)
        country = self.proxy_country_code
        if "proxy_country_code" not in self.model_fields_set and self.custom_proxy is None:
            country = DEFAULT_PROXY_COUNTRY if DEFAULT_PROXY_COUNTRY in country_proxies else None
        proxy = None
        if self.custom_proxy is not None:
            fields = self.custom_proxy.model_dump(exclude={"ignore_cert_errors"})
            proxy = CustomProxyRequest.model_validate(fields)
        return BrowserCreateRequest(
            proxy_country_code=country.lower() if country else None,
            custom_proxy=proxy,
            profile_id=str(self.profile_id) if self.profile_id else None,
            enable_recording=self.enable_recording or None,
            browser_screen_width=self.browser_screen_width,
            browser_screen_height=self.browser_screen_height,
            timeout=self.timeout,
        )


class BrowserAction(StrEnum):
    STOP = "stop"


class HostedBrowserUpdate(HostedRequest):
    action: BrowserAction


class HostedBrowserFilter(StrEnum):
    ACTIVE = "active"
    STOPPED = "stopped"


# The seed statuses each hosted one covers: the hosted API knows only active and stopped.
SEED_STATUSES = {
    HostedBrowserFilter.ACTIVE: [models.BrowserStatus.ACTIVE.value],
    HostedBrowserFilter.STOPPED: [
        s.value for s in models.BrowserStatus if s != models.BrowserStatus.ACTIVE
    ],
}


class HostedNameRequest(NameRequest):
    """Creating or renaming a profile or a workspace: ``name`` may be left out."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    user_id: str | None = Field(default=None, validation_alias=either("userId", "user_id"))

    @field_validator("user_id")
    @classmethod
    def _no_user_ids(cls, value: str | None) -> None:
        if value is not None:
            raise ValueError("this server keeps no user ids: leave userId out")


MAX_PAGE_SIZE = 100  # the document's largest page


class HostedUploadItem(HostedRequest):
    name: str = Field(min_length=1, max_length=255)
    content_type: str = Field(
        default="application/octet-stream",
        max_length=255,
        validation_alias=either("contentType", "content_type"),
    )
    # The document: "required for workspace uploads"; the URL is made for exactly this size.
    size: int | None = Field(default=None, ge=1)


class HostedUploadRequest(HostedRequest):
    files: list[HostedUploadItem] = Field(min_length=1, max_length=10)


class StopStrategy(StrEnum):
    TASK = "task"
    SESSION = "session"


class HostedSessionStopRequest(HostedRequest):
    strategy: StopStrategy = StopStrategy.SESSION


class HostedSessionCreateRequest(HostedRequest):
    """The document's ``RunTaskRequest``: its ids checked here; what a session does with it is
    the seed face's ``SessionManager.create``. Fields beyond the document are let through: the SDK
    sends newer ones (``thinkingLevel``, ``browserScreenWidth``) when asked to."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    task: str | None = None
    session_id: uuid.UUID | None = Field(
        default=None, validation_alias=either("sessionId", "session_id")
    )
    profile_id: uuid.UUID | None = Field(
        default=None, validation_alias=either("profileId", "profile_id")
    )
    workspace_id: uuid.UUID | None = Field(
        default=None, validation_alias=either("workspaceId", "workspace_id")
    )

    def to_seed(self) -> SessionCreate:
        """The seed face's request for the same session. The hosted ``model`` names Browser
        Use's own models, so it is not passed on: the server's configured LLM runs the agent."""
        extra = self.model_extra or {}

        def given(camel: str, snake: str) -> Any:
            return extra.get(camel, extra.get(snake))

        fields = {
            "task": self.task,
            "session_id": self.session_id and str(self.session_id),
            "profile_id": self.profile_id and str(self.profile_id),
            "workspace_id": self.workspace_id and str(self.workspace_id),
            "keep_alive": given("keepAlive", "keep_alive"),
            "enable_recording": given("enableRecording", "enable_recording"),
            "output_schema": given("outputSchema", "output_schema"),
            "proxy_country_code": given("proxyCountryCode", "proxy_country_code"),
        }
        if fields["task"] is None:
            raise invalid("task", "task: a session on the local server needs a task")
        try:
            return SessionCreate.model_validate(
                {name: value for name, value in fields.items() if value is not None}
            )
        except ValidationError as exc:
            raise first_invalid(exc) from None
