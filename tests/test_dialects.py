"""Which dialect a target speaks, and what the hosted dialect's answers become.

The error answers are the hosted document's own bodies, played by an httpx MockTransport: the
hosted API's 429 (with Retry-After), 402, 403 and 404 cannot be produced on demand by any local
part, so they are stood in for here; the local hosted face's own errors are checked by the
server's tests.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from bu_cdp import AsyncBrowserUse, BrowserUse, RemoteBrowser, errors, remote_browser
from bu_cdp.client._flow import CHUNK
from bu_cdp.server.thread import ServerThread
from bu_cdp.settings import (
    DIALECT_ENV,
    LOCAL_HOSTED_PATH,
    LOCAL_SEED_PATH,
    choose_dialect,
    configured_target,
)

HOSTED = "https://api.browser-use.com/api/v3"


@pytest.mark.parametrize(
    ("url", "dialect"),
    [
        ("https://api.browser-use.com/api/v3", "hosted"),
        ("https://staging.api.browser-use.com/api/v3", "hosted"),
        ("https://browser-use.com/api/v3", "hosted"),
        ("https://evilbrowser-use.com/api/v3", "seed"),
        ("https://browser-use.com.example.org/api/v3", "seed"),
        ("http://127.0.0.1:8080/api/v3", "seed"),
        ("http://localhost:8080/hosted/api/v3", "seed"),
    ],
)
def test_auto_picks_hosted_for_browser_uses_hosts_only(url: str, dialect: str) -> None:
    assert choose_dialect(url) == dialect
    assert choose_dialect(url, "auto") == dialect


def test_argument_beats_environment_beats_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DIALECT_ENV, "hosted")
    assert choose_dialect("http://127.0.0.1/api/v3") == "hosted"
    assert choose_dialect(HOSTED, "seed") == "seed"
    monkeypatch.setenv(DIALECT_ENV, "AUTO")
    assert choose_dialect(HOSTED) == "hosted"
    target = configured_target("k", "http://127.0.0.1:9/api/v3", "Hosted")
    assert target is not None and target.dialect == "hosted"


def test_a_bad_dialect_is_an_error_naming_where_it_came_from(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ValueError, match=r"dialect= must be seed, hosted or auto, got 'cloud'"):
        BrowserUse(api_key="k", base_url=HOSTED, dialect="cloud")
    with pytest.raises(ValueError, match="dialect="):
        AsyncBrowserUse(api_key="k", base_url=HOSTED, dialect="v2")
    with pytest.raises(ValueError, match="dialect="):
        RemoteBrowser(api_key="k", base_url=HOSTED, dialect="x")
    with pytest.raises(ValueError, match="dialect="):
        remote_browser(api_key="k", base_url=HOSTED, dialect="x")
    monkeypatch.setenv(DIALECT_ENV, "hostd")
    with pytest.raises(ValueError, match=f"{DIALECT_ENV} must be seed, hosted or auto"):
        BrowserUse(api_key="k", base_url=HOSTED)


def _hosted(answer: httpx.Response, seen: list[httpx.Request] | None = None) -> BrowserUse:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return answer

    return BrowserUse(
        api_key="k", base_url=HOSTED, transport=httpx.MockTransport(handler), max_retries=0
    )


@pytest.mark.parametrize(
    ("status", "body", "cls", "said"),
    [
        (429, {"detail": "Too many concurrent active sessions. Please wait for one to finish, "
               "kill one, or upgrade your plan."}, errors.RateLimitError, "Too many concurrent"),
        (402, {"detail": "Insufficient credits"}, errors.PaymentRequiredError, "Insufficient"),
        (404, {"detail": "Profile not found"}, errors.NotFoundError, "Profile not found"),
        (403, {"detail": "Maximum session timeout is 4 hours (240 minutes)."},
         errors.UnprocessableEntityError, "Maximum session timeout"),
        (422, {"loc": ["body", "proxyCountryCode"], "msg": "Input should be 'ad', 'ae'",
               "type": "enum"}, errors.UnprocessableEntityError, "proxyCountryCode: Input"),
    ],
)  # fmt: skip
def test_hosted_create_errors_map_onto_the_error_classes_with_the_hosted_message(
    status: int, body: dict[str, Any], cls: type[errors.APIError], said: str
) -> None:
    headers = {"Retry-After": "7"} if status == 429 else {}
    with _hosted(httpx.Response(status, json=body, headers=headers)) as client:
        with pytest.raises(cls) as raised:
            client.browsers.create(timeout=5)
    assert said in str(raised.value) and raised.value.status_code == status
    if status == 429:
        assert isinstance(raised.value, errors.RateLimitError)
        assert raised.value.retry_after == 7
    if status in (403, 422):
        assert isinstance(raised.value, errors.UnprocessableEntityError)
        assert raised.value.fields == ["timeout" if status == 403 else "proxyCountryCode"]


def test_a_hosted_422_detail_list_names_every_field() -> None:
    body = {"detail": [{"loc": ["body", "name"], "msg": "too long", "type": "x"},
                       {"loc": ["query", "pageSize"], "msg": "too big", "type": "y"}]}  # fmt: skip
    with _hosted(httpx.Response(422, json=body)) as client:
        with pytest.raises(errors.UnprocessableEntityError) as raised:
            client.profiles.create("n" * 101)
    assert raised.value.fields == ["name", "pageSize"]
    assert "name: too long; pageSize: too big" in str(raised.value)


def test_hosted_usage_says_what_the_hosted_api_offers_instead() -> None:
    seen: list[httpx.Request] = []
    with _hosted(httpx.Response(500), seen) as client:
        with pytest.raises(errors.NotSupportedError, match=r"billing.account\(\)"):
            client.billing.usage()
    assert seen == []


def test_hosted_balance_is_the_accounts_total_and_keeps_the_account() -> None:
    account = {"totalCreditsBalanceUsd": 12.5, "monthlyCreditsBalanceUsd": 10,
               "additionalCreditsBalanceUsd": 2.5, "rateLimit": 5, "projectId": "p",
               "planInfo": {"planName": "pro"}}  # fmt: skip
    seen: list[httpx.Request] = []
    with _hosted(httpx.Response(200, json=account), seen) as client:
        assert client.billing.balance().balance == 12.5
        assert client.billing.account().plan_info == {"planName": "pro"}
    assert [r.url.path for r in seen] == ["/api/v3/billing/account"] * 2


def test_proxy_none_sends_null_and_codes_go_lower_case() -> None:
    seen: list[httpx.Request] = []
    with _hosted(httpx.Response(201, json={"id": "b", "status": "active"}), seen) as client:
        client.browsers.create(proxy_country_code=None)
        client.browsers.create(proxy_country_code="DE", custom_proxy={"host": "h", "port": 1})
        client.browsers.create()
        with pytest.raises(TypeError, match="proxy_cc"):
            client.browsers.create(proxy_cc="de")
    assert [json.loads(r.content) for r in seen] == [
        {"proxyCountryCode": None},
        {"proxyCountryCode": "de", "customProxy": {"host": "h", "port": 1}},
        {},
    ]


def test_every_page_of_a_hosted_list_is_read() -> None:
    pages = {
        "1": {"items": [{"id": "a"}, {"id": "b"}], "totalItems": 3, "pageNumber": 1, "pageSize": 2},
        "2": {"items": [{"id": "c"}], "totalItems": 3, "pageNumber": 2, "pageSize": 2},
    }
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=pages[request.url.params["pageNumber"]])

    with BrowserUse(api_key="k", base_url=HOSTED, transport=httpx.MockTransport(handler)) as c:
        assert [p.id for p in c.profiles.list()] == ["a", "b", "c"]
    assert [r.url.params["pageNumber"] for r in seen] == ["1", "2"]


def test_unknown_hosted_statuses_stay_strings() -> None:
    with _hosted(httpx.Response(200, json={"id": "s", "status": "created"})) as client:
        assert client.sessions.get("s").status == "created"
    with _hosted(httpx.Response(200, json={"id": "s", "status": "paused", "x": 1})) as client:
        session = client.sessions.get("s")
        assert session.status == "paused" and session.model_extra == {"x": 1}


def test_the_local_paths_are_the_servers() -> None:
    from bu_cdp.server.api.routes.hosted import PREFIX
    from bu_cdp.server.app import API_PREFIX

    assert (LOCAL_SEED_PATH, LOCAL_HOSTED_PATH) == (API_PREFIX, PREFIX)


class _Reads(io.BytesIO):
    """A file that remembers the largest read asked of it."""

    largest = 0

    def read(self, size: int | None = -1) -> bytes:
        self.largest = max(self.largest, size if size is not None and size >= 0 else 1 << 62)
        return super().read(size)


def test_a_presigned_upload_streams_the_file_and_keeps_the_key_to_the_api() -> None:
    seen: list[tuple[str, str, dict[str, str], int]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        size = sum(len(chunk) for chunk in request.stream)  # type: ignore[union-attr]
        seen.append((request.method, str(request.url), dict(request.headers), size))
        if request.method == "POST":
            presigned = {"name": "big.bin", "uploadUrl": "https://bucket.test/put?sig=s3cret",
                         "path": "in/big.bin"}  # fmt: skip
            return httpx.Response(200, json={"files": [presigned]})
        return httpx.Response(200)

    data = _Reads(b"x" * (1 << 20))
    transport = httpx.MockTransport(handler)
    with BrowserUse(api_key="k", base_url=HOSTED, transport=transport) as client:
        done = client.workspaces.upload("w", data, filename="big.bin", prefix="in/")
    assert done == {"name": "big.bin", "path": "in/big.bin"}
    (_, ask, ask_headers, _), (method, url, headers, size) = seen
    assert ask.endswith("/workspaces/w/files/upload?prefix=in%2F")
    assert ask_headers["x-browser-use-api-key"] == "k"
    assert (method, url, size) == ("PUT", "https://bucket.test/put?sig=s3cret", 1 << 20)
    assert headers["content-length"] == str(1 << 20)
    assert "x-browser-use-api-key" not in headers
    assert data.largest <= CHUNK, "read in chunks, never whole"


async def test_the_async_client_uploads_through_a_presigned_url_too(
    server: ServerThread, tmp_path: Path
) -> None:
    root = str(httpx.URL(server.base_url).copy_with(path=""))
    file = tmp_path / "notes.txt"
    file.write_bytes(b"async bytes " * 10_000)
    async with AsyncBrowserUse(
        base_url=root + LOCAL_HOSTED_PATH, api_key=server.config.api_key, dialect="hosted"
    ) as client:
        workspace = await client.workspaces.create("async-upload")
        assert workspace.id is not None
        done = await client.workspaces.upload(workspace.id, file)
        files = await client.workspaces.files(workspace.id)
        await client.workspaces.delete(workspace.id)
    assert [(f.path, f.size) for f in files] == [(done["path"], 120_000)]


def test_the_embedded_server_is_spoken_to_in_the_dialect_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("BROWSER_USE_API_KEY", "BU_CDP_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(DIALECT_ENV, "hosted")
    with BrowserUse() as client:
        assert client.target.embedded and client.dialect == "hosted"
        assert client.base_url.endswith(LOCAL_HOSTED_PATH)
        made = client.profiles.create("embedded-hosted")
        assert made.id in {p.id for p in client.profiles.list()}
        client.profiles.delete(str(made.id))
