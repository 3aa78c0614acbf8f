"""Typed HTTP client for the Browser Use Cloud API v3 (and the bu-cdp local server)."""

from __future__ import annotations

from typing import Any, Generic, TypedDict, TypeVar, Unpack

import httpx

from bu_cdp.client._base import CREATE_TIMEOUT
from bu_cdp.client._flow import RetryPolicy
from bu_cdp.client._io import AsyncIO, SyncIO
from bu_cdp.client._resources import Billing, Browsers, Profiles
from bu_cdp.client._sessions import Sessions
from bu_cdp.client._workspaces import Workspaces
from bu_cdp.settings import Dialect, Target, resolve_target
from bu_cdp.wire import API_KEY_HEADER, VERSION

__all__ = ["CREATE_TIMEOUT", "DEFAULT_TIMEOUT", "AsyncBrowserUse", "BrowserUse", "RetryPolicy"]

DEFAULT_TIMEOUT = 30.0
D = TypeVar("D", SyncIO, AsyncIO)


class ClientSettings(TypedDict, total=False):
    """Where a client talks to and how (both faces take them, as keywords): ``timeout``
    defaults to ``DEFAULT_TIMEOUT`` (30 s), ``max_retries`` to 2, the others to None."""

    api_key: str | None
    base_url: str | None
    timeout: float | httpx.Timeout
    max_retries: int
    dialect: str | None


def _client_options(target: Target, timeout: float | httpx.Timeout) -> dict[str, Any]:
    headers = {"User-Agent": f"bu-cdp/{VERSION}", "Accept": "application/json"}
    if target.api_key:
        headers[API_KEY_HEADER] = target.api_key
    return {"base_url": target.base_url + "/", "headers": headers, "timeout": timeout}


class _ClientFace(Generic[D]):
    """What both faces share: where they talk to, the resources over their I/O, and a repr
    without the key."""

    target: Target
    sessions: Sessions[D]
    browsers: Browsers[D]
    workspaces: Workspaces[D]
    profiles: Profiles[D]
    billing: Billing[D]

    def _settle(self, settings: ClientSettings) -> tuple[dict[str, Any], RetryPolicy]:
        """Resolve the target; the options of the HTTP client, and the retry policy. An
        unknown keyword is a TypeError, as for any function."""
        unknown = settings.keys() - ClientSettings.__annotations__.keys()
        if unknown:
            raise TypeError(
                f"{type(self).__name__}() got an unexpected keyword argument {min(unknown)!r}"
            )
        self.target = resolve_target(
            settings.get("api_key"), settings.get("base_url"), settings.get("dialect")
        )
        options = _client_options(self.target, settings.get("timeout", DEFAULT_TIMEOUT))
        return options, RetryPolicy(max_retries=settings.get("max_retries", 2))

    def _mount(self, io: D) -> None:
        dialect = self.target.dialect
        self.sessions = Sessions(io, dialect)
        self.browsers = Browsers(io, dialect)
        self.workspaces = Workspaces(io, dialect)
        self.profiles = Profiles(io, dialect)
        self.billing = Billing(io, dialect)

    @property
    def base_url(self) -> str:
        return self.target.base_url

    @property
    def dialect(self) -> Dialect:
        """``seed`` or ``hosted``: how this client says its calls (docs/dialects.md)."""
        return self.target.dialect

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, dialect={self.dialect!r})"


class BrowserUse(_ClientFace[SyncIO]):
    """Synchronous client.

    ``api_key`` falls back to ``BROWSER_USE_API_KEY``, ``base_url`` to ``BU_CDP_BASE_URL`` and
    then to the hosted API; with neither key nor URL anywhere, the embedded local server is used.
    ``dialect`` (``"seed"``, ``"hosted"``, ``"auto"``; default ``BU_CDP_API_DIALECT``, else
    auto: hosted for ``*.browser-use.com``, seed elsewhere) is how calls are said.
    ``timeout`` (seconds) applies to each attempt of every request, except that creates
    (browsers, sessions) wait at least ``CREATE_TIMEOUT`` (120 s) for their answer: a server
    may queue a create and then launch a browser, and a create given up on may still make a
    browser. Each method takes ``request_timeout=`` too: seconds for that call, retries
    included.
    """

    def __init__(
        self, *, transport: httpx.BaseTransport | None = None, **settings: Unpack[ClientSettings]
    ) -> None:
        options, retry = self._settle(settings)
        self._http = httpx.Client(transport=transport, **options)
        self._mount(SyncIO(self._http, retry))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> BrowserUse:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncBrowserUse(_ClientFace[AsyncIO]):
    """Asynchronous client; the same methods as ``BrowserUse``, as coroutines."""

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        **settings: Unpack[ClientSettings],
    ) -> None:
        options, retry = self._settle(settings)
        self._http = httpx.AsyncClient(transport=transport, **options)
        self._mount(AsyncIO(self._http, retry))

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncBrowserUse:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
