"""How each operation is said in each dialect of v3: the one table the client's flows consult.

``SEED`` is ``bu_cdp/openapi.yaml`` (what a bu-cdp server answers at ``/api/v3``), ``HOSTED`` is
``bu_cdp/openapi.hosted.json`` (api.browser-use.com). A resource method names its operation
(``"browsers.stop"``) and gets back its ``Route`` in the client's dialect: method, path, body
model, query names, how its list answer pages, how its answer reads. An operation a dialect does
not have is an ``Unsupported`` that says what that dialect offers instead. docs/dialects.md
tables the differences.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from bu_cdp import errors, models
from bu_cdp.client._bodies import (
    HostedBrowserCreate,
    HostedBrowserStop,
    HostedSessionCreate,
    HostedSessionStop,
)
from bu_cdp.models import RequestModel
from bu_cdp.settings import Dialect


@dataclass(frozen=True)
class Paging:
    """How a list answer comes, and how to ask for the page after it.

    ``items``: the envelope's field holding the items (None: a bare JSON array). Then one of:
    page numbers (``number`` and ``size`` params, ``total`` field), a cursor (``cursor`` param,
    from the ``next_cursor`` field or the last item's ``cursor_from_item``, while ``has_more``),
    or an offset (``offset`` and ``size`` params, a short page ends it). No way at all: one
    request answers the whole list.
    """

    items: str | None = None
    size: str | None = None
    max_size: int = 100
    number: str | None = None
    total: str | None = None
    cursor: str | None = None
    next_cursor: str | None = None
    cursor_from_item: str | None = None
    has_more: str | None = None
    offset: str | None = None

    def first(self, page_size: int | None) -> dict[str, Any]:
        """The paging params of the first page (None: the server's whole list, if it can)."""
        size = page_size if page_size is not None else (self.max_size if self.pages else None)
        params: dict[str, Any] = {}
        if self.size is not None and size is not None:
            params[self.size] = min(size, self.max_size)
        if self.number is not None:
            params[self.number] = 1
        return params

    @property
    def pages(self) -> bool:
        return self.number is not None or self.cursor is not None

    def read(self, body: Any, where: str) -> list[Any]:
        if self.items is None:
            return _bare_items(body, where)
        if not isinstance(body, dict) or not isinstance(body.get(self.items), list):
            raise ValueError(f"{where}: expected an object with an {self.items!r} list")
        return list(body[self.items])

    def after(
        self, params: dict[str, Any], body: Any, page: list[Any], seen: int
    ) -> dict[str, Any] | None:
        """The params of the next page, or None when this one was the last."""
        size = params.get(self.size) if self.size else None
        if not page:
            return None
        if self.number is not None:
            # The total decides (a server may give smaller pages than asked); without one, a
            # short page is the last.
            total = body.get(self.total) if self.total else None
            if (seen >= total) if isinstance(total, int) else (size and len(page) < size):
                return None
            return {**params, self.number: params[self.number] + 1}
        if self.cursor is not None:
            if self.has_more and not body.get(self.has_more):
                return None
            if self.cursor_from_item is not None:
                last = page[-1]
                cursor = last.get(self.cursor_from_item) if isinstance(last, dict) else None
            else:
                cursor = body.get(self.next_cursor) if self.next_cursor else None
            if not cursor or cursor == params.get(self.cursor):
                return None  # no cursor, or the same again: a server that would loop forever
            return {**params, self.cursor: cursor}
        if self.offset is not None and size and len(page) >= size:
            return {**params, self.offset: int(params.get(self.offset) or 0) + len(page)}
        return None


def _bare_items(body: Any, where: str) -> list[Any]:
    """A seed list: a JSON array; read tolerantly, an object with exactly one array field."""
    if isinstance(body, list):
        return body
    arrays = [v for v in body.values() if isinstance(v, list)] if isinstance(body, dict) else []
    if len(arrays) != 1:
        raise ValueError(f"{where}: expected a list of items, got {type(body).__name__}")
    return arrays[0]


@dataclass(frozen=True)
class Route:
    """One operation in one dialect. ``path`` has ``{}`` for each id, in order."""

    method: str
    path: str
    body: type[RequestModel] | None = None  # the keyword fields are validated into it
    query: Mapping[str, str] = field(default_factory=dict)  # Python keyword -> query name
    fixed_query: Mapping[str, Any] = field(default_factory=dict)  # always sent
    paging: Paging | None = None
    idempotent: bool = False  # safe to repeat though a POST/PATCH (a stop)
    read: Callable[[Any], Any] | None = None  # reshapes the answer before the model reads it
    # How upload and download move the bytes: multipart/direct (seed), presigned (hosted).
    transfer: Literal["multipart", "presigned", "direct", "listed"] | None = None
    # Error statuses this operation's document gives another meaning: status -> (class, field).
    errors: Mapping[int, tuple[type[errors.APIError], str | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class Unsupported:
    """An operation the dialect does not have; ``instead`` says what it offers."""

    instead: str


def _hosted_balance(account: Any) -> Any:
    """``balance()`` on the hosted API: the account's total credits, the account kept."""
    if isinstance(account, dict):
        return {**account, "balance": account.get("totalCreditsBalanceUsd")}
    return account


def _hosted_recording(session: Any) -> Any:
    """A session's recording on the hosted API: ``recordingUrls`` of ``GET /sessions/{id}``."""
    urls = session.get("recordingUrls") if isinstance(session, dict) else None
    urls = urls if isinstance(urls, list) else []
    return {"recording_url": urls[0] if urls else None, "recording_urls": urls}


_NUMBERED = Paging(
    items="items", size="pageSize", number="pageNumber", total="totalItems", max_size=100
)
_FILES = Paging(
    items="files", size="limit", cursor="cursor", next_cursor="nextCursor", has_more="hasMore"
)
_TIMEOUT_LIMIT = {403: (errors.UnprocessableEntityError, "timeout")}

SEED: dict[str, Route | Unsupported] = {
    "browsers.create": Route("POST", "/browsers", body=models.BrowserCreate),
    "browsers.get": Route("GET", "/browsers/{}"),
    "browsers.stop": Route("POST", "/browsers/{}/stop", idempotent=True),
    # An extension of the seed document, answered by bu-cdp servers.
    "browsers.list": Route("GET", "/browsers", query={"status": "status"}, paging=Paging()),
    "browsers.downloads": Unsupported("the seed dialect does not list a browser's downloads; "
                                      "save them with Playwright's page.expect_download()"),
    "workspaces.create": Route("POST", "/workspaces", body=models.NameBody),
    "workspaces.list": Route("GET", "/workspaces", paging=Paging()),
    "workspaces.get": Route("GET", "/workspaces/{}"),
    "workspaces.update": Route("PUT", "/workspaces/{}", body=models.NameBody),
    "workspaces.delete": Route("DELETE", "/workspaces/{}"),
    "workspaces.upload": Route("POST", "/workspaces/{}/upload", query={"prefix": "prefix"},
                               transfer="multipart"),
    "workspaces.files": Route("GET", "/workspaces/{}/files", query={"prefix": "prefix"},
                              paging=Paging()),
    "workspaces.delete_file": Unsupported("the seed dialect deletes a workspace's files only "
                                          "with the workspace (workspaces.delete)"),
    "workspaces.size": Route("GET", "/workspaces/{}/size"),
    # An extension of the seed document, answered by bu-cdp servers.
    "workspaces.download": Route("GET", "/workspaces/{}/files/{}", transfer="direct"),
    "profiles.create": Route("POST", "/profiles", body=models.NameBody),
    "profiles.list": Route("GET", "/profiles", query={"query": "query"}, paging=Paging()),
    "profiles.get": Route("GET", "/profiles/{}"),
    "profiles.update": Route("PUT", "/profiles/{}", body=models.NameBody),
    "profiles.delete": Route("DELETE", "/profiles/{}"),
    "billing.usage": Route("GET", "/billing/usage"),
    "billing.balance": Route("GET", "/billing/balance"),
    "billing.account": Unsupported("the seed dialect has billing.balance() and billing.usage()"),
    "sessions.create": Route("POST", "/sessions", body=models.SessionCreate),
    "sessions.list": Route("GET", "/sessions", paging=Paging(size="limit", offset="offset")),
    "sessions.get": Route("GET", "/sessions/{}"),
    "sessions.stop": Route("POST", "/sessions/{}/stop", idempotent=True),
    "sessions.delete": Unsupported("the seed dialect has no session delete; sessions.stop() "
                                   "ends one"),
    "sessions.messages": Route("GET", "/sessions/{}/messages", paging=Paging()),
    "sessions.recording": Route("POST", "/sessions/{}/recording"),
}  # fmt: skip

HOSTED: dict[str, Route | Unsupported] = {
    "browsers.create": Route("POST", "/browsers", body=HostedBrowserCreate, errors=_TIMEOUT_LIMIT),
    "browsers.get": Route("GET", "/browsers/{}"),
    "browsers.stop": Route("PATCH", "/browsers/{}", body=HostedBrowserStop, idempotent=True),
    "browsers.list": Route("GET", "/browsers", query={"status": "filterBy"}, paging=_NUMBERED),
    "browsers.downloads": Route("GET", "/browsers/{}/downloads", paging=_FILES,
                                query={"include_urls": "includeUrls"}),
    "workspaces.create": Route("POST", "/workspaces", body=models.NameBody),
    "workspaces.list": Route("GET", "/workspaces", paging=_NUMBERED),
    "workspaces.get": Route("GET", "/workspaces/{}"),
    "workspaces.update": Route("PATCH", "/workspaces/{}", body=models.NameBody),
    "workspaces.delete": Route("DELETE", "/workspaces/{}"),
    "workspaces.upload": Route("POST", "/workspaces/{}/files/upload", query={"prefix": "prefix"},
                               transfer="presigned"),
    "workspaces.files": Route("GET", "/workspaces/{}/files", paging=_FILES,
                              query={"prefix": "prefix", "include_urls": "includeUrls"}),
    "workspaces.delete_file": Route("DELETE", "/workspaces/{}/files", query={"path": "path"}),
    "workspaces.size": Route("GET", "/workspaces/{}/size"),
    # No download operation: the file's short-lived URL comes with its listing.
    "workspaces.download": Route("GET", "/workspaces/{}/files", query={"prefix": "prefix"},
                                 fixed_query={"includeUrls": "true"}, paging=_FILES,
                                 transfer="listed"),
    "profiles.create": Route("POST", "/profiles", body=models.NameBody),
    "profiles.list": Route("GET", "/profiles", query={"query": "query"}, paging=_NUMBERED),
    "profiles.get": Route("GET", "/profiles/{}"),
    "profiles.update": Route("PATCH", "/profiles/{}", body=models.NameBody),
    "profiles.delete": Route("DELETE", "/profiles/{}"),
    "billing.usage": Unsupported("the hosted API has no usage report; billing.account() gives "
                                 "the credits balance (total, monthly, additional), the plan and "
                                 "the rate limit, and each browser's cost is on browsers.get()"),
    "billing.balance": Route("GET", "/billing/account", read=_hosted_balance),
    "billing.account": Route("GET", "/billing/account"),
    "sessions.create": Route("POST", "/sessions", body=HostedSessionCreate),
    "sessions.list": Route("GET", "/sessions", paging=Paging(
        items="sessions", size="page_size", number="page", total="total")),
    "sessions.get": Route("GET", "/sessions/{}"),
    "sessions.stop": Route("POST", "/sessions/{}/stop", body=HostedSessionStop, idempotent=True),
    "sessions.delete": Route("DELETE", "/sessions/{}"),
    "sessions.messages": Route("GET", "/sessions/{}/messages", paging=Paging(
        items="messages", size="limit", cursor="after", cursor_from_item="id",
        has_more="hasMore")),
    "sessions.recording": Route("GET", "/sessions/{}", read=_hosted_recording),
}  # fmt: skip

TABLES: dict[Dialect, dict[str, Route | Unsupported]] = {"seed": SEED, "hosted": HOSTED}


def route(dialect: Dialect, operation: str) -> Route:
    """How ``operation`` is said in ``dialect``; NotSupportedError if it is not."""
    said = TABLES[dialect][operation]
    if isinstance(said, Unsupported):
        raise errors.NotSupportedError(
            f"{operation}() is not part of the {dialect} dialect: {said.instead}",
            status_code=501,
        )
    return said
