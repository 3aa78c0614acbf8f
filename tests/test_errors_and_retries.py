"""Error mapping and the retry policy of the client.

Statuses such as the hosted API's 429 with Retry-After, a 503 or a 402 are what no local part
produces on demand, so these tests answer through an httpx MockTransport. The refused
connection is real: a port with nothing listening.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable

import httpx
import pytest

from bu_cdp import AsyncBrowserUse, BrowserUse, errors
from bu_cdp.client import RetryPolicy

KEY = "sk-secret-key-123"


def _client(handler: Callable[[httpx.Request], httpx.Response], **kw: object) -> BrowserUse:
    return BrowserUse(
        api_key=KEY,
        base_url="https://api.test/api/v3",
        transport=httpx.MockTransport(handler),
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, errors.BadRequestError),
        (401, errors.AuthenticationError),
        (403, errors.AuthenticationError),
        (402, errors.PaymentRequiredError),
        (404, errors.NotFoundError),
        (409, errors.ConflictError),
        (413, errors.PayloadTooLargeError),
        (422, errors.UnprocessableEntityError),
        (429, errors.RateLimitError),
        (500, errors.ServerError),
        (501, errors.NotSupportedError),
        (502, errors.ServerError),
        (418, errors.APIError),
    ],
)
def test_status_maps_to_error(status: int, error: type[errors.APIError]) -> None:
    body = {"detail": f"the reason for {status}"}
    with _client(lambda r: httpx.Response(status, json=body), max_retries=0) as client:
        with pytest.raises(error) as caught:
            client.profiles.get("p1")
    assert type(caught.value) is error
    assert caught.value.status_code == status
    assert caught.value.body == body
    assert f"the reason for {status}" in caught.value.message
    assert "GET /profiles/p1" in str(caught.value)
    assert isinstance(caught.value, errors.BuCdpError)


def test_422_names_the_field() -> None:
    body = {"detail": [{"loc": ["body", "timeout"], "msg": "must be at most 240", "type": "x"}]}
    with _client(lambda r: httpx.Response(422, json=body)) as client:
        with pytest.raises(errors.UnprocessableEntityError) as caught:
            client.browsers.create(timeout=240)
    assert caught.value.fields == ["timeout"]
    assert "timeout: must be at most 240" in str(caught.value)


def test_429_with_retry_after_is_retried_and_honoured() -> None:
    answers = [
        httpx.Response(429, headers={"Retry-After": "0"}, json={"detail": "busy"}),
        httpx.Response(200, json={"id": "b1", "status": "active"}),
    ]
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers[len(seen) - 1]

    with _client(handler) as client:
        browser = client.browsers.create()  # a POST: 429 means nothing was done, so retry
    assert browser.id == "b1"
    assert len(seen) == 2


def test_429_gives_up_with_retry_after_on_the_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "0"}, json={"detail": "slow down"})

    with _client(handler, max_retries=1) as client:
        with pytest.raises(errors.RateLimitError) as caught:
            client.browsers.create()
    assert caught.value.retry_after == 0


def test_retry_after_delay_is_used() -> None:
    policy = RetryPolicy()
    response = httpx.Response(429, headers={"Retry-After": "7"})
    assert policy.delay("POST", 0, response) == 7
    response = httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert policy.delay("POST", 0, response) == 0  # a date in the past: go now


def test_503_to_a_post_is_not_retried() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503, json={"detail": "overloaded"})

    with _client(handler) as client:
        with pytest.raises(errors.ServerError):
            client.browsers.create()  # a create is billed: never sent twice
    assert len(seen) == 1


def test_get_is_retried_on_503() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) < 3:
            return httpx.Response(503)
        return httpx.Response(200, json={"id": "b1"})

    with _client(handler) as client:
        assert client.browsers.get("b1").id == "b1"
    assert len(seen) == 3


def test_read_timeout_on_post_is_not_retried() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        raise httpx.ReadTimeout("slow", request=request)

    with _client(handler) as client:
        with pytest.raises(errors.APITimeoutError):
            client.browsers.create()  # it may have reached the server
    assert len(seen) == 1


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_get_is_retried_on_a_refused_connection_then_fails_clearly() -> None:
    port = _closed_port()
    transport = httpx.HTTPTransport()
    calls = 0

    class Counting(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            nonlocal calls
            calls += 1
            return transport.handle_request(request)

    with BrowserUse(
        api_key=KEY, base_url=f"http://127.0.0.1:{port}/api/v3", transport=Counting()
    ) as client:
        with pytest.raises(errors.APIConnectionError) as caught:
            client.browsers.get("b1")
    assert calls == 3  # one try and two retries
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert KEY not in str(caught.value)


def test_per_call_timeout_overrides_the_clients() -> None:
    seen: list[dict[str, float]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(200, json={"id": "b"})

    with _client(handler, timeout=12.0) as client:
        client.browsers.get("b")
        client.browsers.get("b", request_timeout=3.0)
    assert seen[0]["read"] == 12.0
    assert seen[1]["read"] == 3.0


def test_api_key_never_appears_in_repr_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with _client(lambda r: httpx.Response(401, json={"detail": "bad key"})) as client:
        assert KEY not in repr(client)
        assert KEY not in repr(client.target)
        with pytest.raises(errors.AuthenticationError) as caught:
            client.browsers.get("b")
    assert KEY not in str(caught.value) and KEY not in repr(caught.value)
    assert KEY not in caplog.text


def test_key_and_base_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROWSER_USE_API_KEY", "env-key")
    client = BrowserUse(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    assert client.base_url == "https://api.browser-use.com/api/v3"
    monkeypatch.setenv("BU_CDP_BASE_URL", "http://elsewhere:9000/api/v3/")
    client = BrowserUse(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    assert client.base_url == "http://elsewhere:9000/api/v3"
    assert client._http.headers["X-Browser-Use-API-Key"] == "env-key"


async def test_async_client_shares_the_same_behaviour() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            return httpx.Response(503)
        return httpx.Response(200, json={"id": "w1", "name": "docs"})

    async with AsyncBrowserUse(
        api_key=KEY, base_url="https://api.test/api/v3", transport=httpx.MockTransport(handler)
    ) as client:
        workspace = await client.workspaces.get("w1")
        assert workspace.name == "docs"
        with pytest.raises(TypeError):
            await client.browsers.create(bogus=1)
    assert len(seen) == 2
