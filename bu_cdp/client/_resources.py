"""One definition per operation of the v3 API, shared by ``BrowserUse`` and ``AsyncBrowserUse``.

Each method is written once as a flow (see ``_flow.py``) and names its operation; how that
operation is said in the client's dialect is in ``_dialect.py``. The ``endpoint`` descriptor
(``_base.py``) makes a flow a plain method on a sync client and a coroutine on an async one.
Agent sessions, with their helpers, are in ``_sessions.py``; workspaces, with their files, in
``_workspaces.py``.
"""

from __future__ import annotations

import builtins
from typing import Any, Generic, TypeVar

from bu_cdp import models
from bu_cdp.client._base import (
    CREATE_TIMEOUT,
    D,
    Resource,
    endpoint,
)
from bu_cdp.client._flow import Flow

N = TypeVar("N", models.Workspace, models.Profile)


class Browsers(Resource[D]):
    @endpoint
    def create(
        self, /, *, request_timeout: float | None = None, **fields: Any
    ) -> Flow[models.Browser]:
        """Create a raw CDP browser.

        Fields (Python names; the dialect's spelling goes on the wire): ``proxy_country_code``,
        ``custom_proxy``, ``profile_id``, ``enable_recording``, ``timeout`` in minutes,
        ``browser_screen_width``, ``browser_screen_height`` (or ``browserScreenWidth``/
        ``browserScreenHeight``); hosted also ``allow_resizing``. The hosted API gives a
        browser a US proxy unless told otherwise: ``proxy_country_code=None`` sends ``null``,
        no proxy. Without ``request_timeout`` it waits at least ``CREATE_TIMEOUT`` seconds.
        """
        return (
            yield from self._fetch(
                models.Browser,
                "browsers.create",
                fields=fields,
                timeout=request_timeout,
                at_least=CREATE_TIMEOUT,
            )
        )

    @endpoint
    def get(self, browser_id: str, *, request_timeout: float | None = None) -> Flow[models.Browser]:
        ids = {"browser_id": browser_id}
        return (
            yield from self._fetch(models.Browser, "browsers.get", ids, timeout=request_timeout)
        )

    @endpoint
    def stop(
        self, browser_id: str, *, request_timeout: float | None = None
    ) -> Flow[models.Browser]:
        """Stop a browser: ``POST /browsers/{id}/stop`` (seed), ``PATCH /browsers/{id}`` with
        ``{"action": "stop"}`` (hosted)."""
        ids = {"browser_id": browser_id}
        return (
            yield from self._fetch(models.Browser, "browsers.stop", ids, timeout=request_timeout)
        )

    @endpoint
    def list(
        self, *, status: str | None = None, request_timeout: float | None = None
    ) -> Flow[builtins.list[models.Browser]]:
        """Every browser (every page), or those with ``status`` (``active``, ``stopped``)."""
        return (
            yield from self._collect(
                models.Browser, "browsers.list", params={"status": status}, timeout=request_timeout
            )
        )

    @endpoint
    def downloads(
        self,
        browser_id: str,
        *,
        include_urls: bool | None = None,
        request_timeout: float | None = None,
    ) -> Flow[builtins.list[models.BrowserDownload]]:
        """The files a browser downloaded (hosted), every page; ``include_urls=True`` adds a
        short-lived URL to each."""
        return (
            yield from self._collect(
                models.BrowserDownload,
                "browsers.downloads",
                {"browser_id": browser_id},
                params={"include_urls": include_urls},
                timeout=request_timeout,
            )
        )


class _Named(Resource[D], Generic[D, N]):
    """Create, list, get, rename, delete: what workspaces and profiles share."""

    _noun: str
    _model: type[N]

    def _create(self, name: str, request_timeout: float | None) -> Flow[N]:
        operation = f"{self._noun}s.create"
        return (
            yield from self._fetch(
                self._model, operation, fields={"name": name}, timeout=request_timeout
            )
        )

    def _get(self, item_id: str, request_timeout: float | None) -> Flow[N]:
        ids = {f"{self._noun}_id": item_id}
        operation = f"{self._noun}s.get"
        return (yield from self._fetch(self._model, operation, ids, timeout=request_timeout))

    def _update(self, item_id: str, name: str, request_timeout: float | None) -> Flow[N]:
        ids = {f"{self._noun}_id": item_id}
        return (
            yield from self._fetch(
                self._model,
                f"{self._noun}s.update",
                ids,
                fields={"name": name},
                timeout=request_timeout,
            )
        )

    def _delete(self, item_id: str, request_timeout: float | None) -> Flow[None]:
        ids = {f"{self._noun}_id": item_id}
        yield from self._send(f"{self._noun}s.delete", ids, timeout=request_timeout)


class Profiles(_Named[D, models.Profile]):
    _noun = "profile"
    _model = models.Profile

    @endpoint
    def create(self, name: str, *, request_timeout: float | None = None) -> Flow[models.Profile]:
        return (yield from self._create(name, request_timeout))

    @endpoint
    def list(
        self, *, query: str | None = None, request_timeout: float | None = None
    ) -> Flow[builtins.list[models.Profile]]:
        """Every profile (every page), or those whose name contains ``query``."""
        return (
            yield from self._collect(
                models.Profile, "profiles.list", params={"query": query}, timeout=request_timeout
            )
        )

    @endpoint
    def get(self, profile_id: str, *, request_timeout: float | None = None) -> Flow[models.Profile]:
        return (yield from self._get(profile_id, request_timeout))

    @endpoint
    def update(
        self, profile_id: str, *, name: str, request_timeout: float | None = None
    ) -> Flow[models.Profile]:
        return (yield from self._update(profile_id, name, request_timeout))

    @endpoint
    def delete(self, profile_id: str, *, request_timeout: float | None = None) -> Flow[None]:
        yield from self._delete(profile_id, request_timeout)


class Billing(Resource[D]):
    @endpoint
    def usage(self, *, request_timeout: float | None = None) -> Flow[models.Usage]:
        """Usage (seed). The hosted API has none: NotSupportedError says what it has."""
        return (yield from self._fetch(models.Usage, "billing.usage", timeout=request_timeout))

    @endpoint
    def balance(self, *, request_timeout: float | None = None) -> Flow[models.Balance]:
        """Credit left; hosted: the account's ``totalCreditsBalanceUsd``."""
        return (yield from self._fetch(models.Balance, "billing.balance", timeout=request_timeout))

    @endpoint
    def account(self, *, request_timeout: float | None = None) -> Flow[models.Account]:
        """The hosted account: credits (total, monthly, additional), plan, rate limit."""
        return (yield from self._fetch(models.Account, "billing.account", timeout=request_timeout))
