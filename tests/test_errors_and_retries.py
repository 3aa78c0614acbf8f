"""Error mapping and the retry policy of the client.

Every error status the local server gives for a client's mistake is tested against a real
server (``make_server`` for the settings that produce it): 401, 402, 404, 409, 413, 422, 429
with Retry-After, and 501. So are refused connections: a real closed port, and a server that
comes up on it.

An httpx MockTransport answers only what no local part produces on demand: 400 (the local
server answers a malformed request with 422), 403 (its API answers a bad key with 401; its
403s are for CDP addresses, which the client never asks for), 418, the 5xx statuses 500,
502, 503 and 504 (a 5xx from the local server is a bug, never something to provoke), and
read timeouts that come at once, attempt after attempt, so the retry rules around them are
seen without waiting.
"""

from __future__ import annotations

import logging
import secrets
import socket
import threading
from collections.abc import Callable

import httpx
import pytest

from bu_cdp import AsyncBrowserUse, BrowserUse, errors
from bu_cdp.client import CREATE_TIMEOUT, RetryPolicy
from bu_cdp.server.config import ServerConfig
from bu_cdp.server.thread import ServerThread

KEY = "sk-secret-key-123"


def _client(handler: Callable[[httpx.Request], httpx.Response], **kw: object) -> BrowserUse:
    return BrowserUse(
        api_key=KEY,
        base_url="https://api.test/api/v3",
        transport=httpx.MockTransport(handler),
        **kw,  # type: ignore[arg-type]
    )


def _on(server: ServerThread, **kw: object) -> BrowserUse:
    return BrowserUse(base_url=server.base_url, api_key=server.config.api_key, **kw)  # type: ignore[arg-type]


# -- statuses the real local server gives -------------------------------------------------


def test_401_a_wrong_key(server: ServerThread) -> None:
    with BrowserUse(base_url=server.base_url, api_key="sk-wrong-key-456") as client:
        with pytest.raises(errors.AuthenticationError) as caught:
            client.profiles.list()
    assert caught.value.status_code == 401
    assert str(caught.value).startswith("401: GET /profiles: ")
    assert "sk-wrong-key-456" not in str(caught.value)


def test_404_names_what_is_missing(server: ServerThread) -> None:
    with _on(server) as client:
        with pytest.raises(errors.NotFoundError) as caught:
            client.browsers.get("no-such-browser")
    assert caught.value.status_code == 404
    assert str(caught.value) == "404: GET /browsers/no-such-browser: " + (
        "Browser 'no-such-browser' not found"
    )
    assert caught.value.body == {"detail": "Browser 'no-such-browser' not found"}


def test_409_a_conflict(server: ServerThread) -> None:
    with _on(server) as client:
        workspace = client.workspaces.create("conflicts")
        try:
            client.workspaces.upload(str(workspace.id), b"a file", filename="notes")
            with pytest.raises(errors.ConflictError) as caught:  # a file cannot hold files
                client.workspaces.upload(str(workspace.id), b"x", filename="a", prefix="notes/")
        finally:
            client.workspaces.delete(str(workspace.id))
    assert caught.value.status_code == 409
    assert "is a file" in str(caught.value)


def test_422_names_the_field(server: ServerThread) -> None:
    with _on(server) as client:
        with pytest.raises(errors.UnprocessableEntityError) as caught:
            client.browsers.create(browser_screen_width=10)  # the server's minimum is 320
    assert caught.value.status_code == 422
    assert caught.value.fields == ["browserScreenWidth"]
    assert "browserScreenWidth" in str(caught.value)


def test_501_an_operation_the_server_does_not_offer(server: ServerThread) -> None:
    with _on(server) as client:
        with pytest.raises(errors.NotSupportedError) as caught:
            client.sessions.create("find the price")
    assert caught.value.status_code == 501
    assert isinstance(caught.value, errors.ServerError)


def test_402_no_credit_left(make_server: Callable[..., ServerThread]) -> None:
    server = make_server(credit=0.0)
    with _on(server) as client:
        with pytest.raises(errors.PaymentRequiredError) as caught:
            client.browsers.create()
    assert caught.value.status_code == 402
    assert "No credit left" in str(caught.value)
    assert server.manager.active() == []


def test_413_an_upload_too_large(make_server: Callable[..., ServerThread]) -> None:
    server = make_server(max_upload_bytes=10)
    with _on(server) as client:
        workspace = client.workspaces.create("small")
        with pytest.raises(errors.PayloadTooLargeError) as caught:
            client.workspaces.upload(str(workspace.id), b"x" * 100, filename="big.bin")
    assert caught.value.status_code == 413


def test_429_with_retry_after_is_retried_and_honoured(
    make_server: Callable[..., ServerThread],
) -> None:
    """Past the server's one slot a create is refused at once with 429 and ``Retry-After: 1``.
    Nothing was done, so even a create is retried, after the time asked; given up after the
    retries, the error carries the Retry-After; retried while the slot frees, it gets it."""
    server = make_server(max_browsers=1, max_queued=0, queue_timeout=0.1)

    def refused() -> int:
        return int(str(server.manager.snapshot()["creates_rejected"]))

    with _on(server) as client:
        first = str(client.browsers.create(timeout=5).id)
        with _on(server, max_retries=1) as impatient:
            with pytest.raises(errors.RateLimitError) as caught:
                impatient.browsers.create()
        assert caught.value.status_code == 429
        assert caught.value.retry_after == 1.0  # the server's Retry-After, on the error
        assert "Too many browsers" in str(caught.value)
        assert refused() == 2  # the try and its one retry

        def free_the_slot_after_a_refusal() -> None:
            while refused() == 2:
                threading.Event().wait(0.02)
            client.browsers.stop(first)

        freer = threading.Thread(target=free_the_slot_after_a_refusal)
        freer.start()
        with _on(server, max_retries=5) as patient:
            second = patient.browsers.create(timeout=5)
        freer.join(30)
        assert second.status == "active"
        assert refused() >= 3  # it was refused before it got the slot
        client.browsers.stop(str(second.id))


# -- connections refused, timeouts ----------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Counting(httpx.BaseTransport):
    """A real transport that counts its attempts and what each one met."""

    def __init__(self, on_refused: Callable[[], None] = lambda: None) -> None:
        self.real = httpx.HTTPTransport()
        self.outcomes: list[str] = []
        self.on_refused = on_refused

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = self.real.handle_request(request)
        except httpx.ConnectError:
            self.outcomes.append("refused")
            self.on_refused()
            raise
        self.outcomes.append(str(response.status_code))
        return response


# A refused connection never reached a server, so even a billed create is sent again.
@pytest.mark.parametrize(
    "call",
    [lambda client: client.browsers.get("b1"), lambda client: client.browsers.create()],
    ids=["get", "create"],
)
def test_a_refused_connection_is_retried_then_fails_clearly(
    call: Callable[[BrowserUse], object], closed_port: int
) -> None:
    port = closed_port
    transport = Counting()
    with BrowserUse(
        api_key=KEY, base_url=f"http://127.0.0.1:{port}/api/v3", transport=transport
    ) as client:
        with pytest.raises(errors.APIConnectionError) as caught:
            call(client)
    assert transport.outcomes == ["refused"] * 3  # one try and two retries
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert KEY not in str(caught.value)


def test_a_create_refused_gets_through_when_the_server_comes_up() -> None:
    port = _closed_port()
    config = ServerConfig(api_key=secrets.token_urlsafe(16), port=port)
    running: list[ServerThread] = []

    def start_the_server() -> None:  # after the first refusal, in the background
        if not running:
            running.append(ServerThread(config))
            threading.Thread(target=running[0].start, daemon=True).start()

    transport = Counting(on_refused=start_the_server)
    try:
        with BrowserUse(
            api_key=config.api_key,
            base_url=f"http://127.0.0.1:{port}/api/v3",
            transport=transport,
            max_retries=6,
        ) as client:
            # A create the server refuses once it has read it (a screen too small): so it
            # reached the server, and no browser is launched for this test.
            with pytest.raises(errors.UnprocessableEntityError):
                client.browsers.create(browser_screen_width=1)
        assert transport.outcomes[0] == "refused"
        assert transport.outcomes[-1] == "422"
        assert set(transport.outcomes[:-1]) == {"refused"}  # sent until it got through, once
    finally:
        for server in running:
            server.stop()


def test_a_create_waits_longer_than_the_clients_timeout(server: ServerThread) -> None:
    """A create waits at least CREATE_TIMEOUT for its answer, as a server may queue it and then
    launch: one given up on would leave a browser nobody stops. request_timeout= overrides it."""
    seen: list[dict[str, float]] = []

    class Recording(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            seen.append(request.extensions["timeout"])
            return super().handle_request(request)

    with BrowserUse(
        base_url=server.base_url, api_key=server.config.api_key, timeout=5, transport=Recording()
    ) as client:
        # Creates the server refuses (a screen too small), so no browser is launched for this.
        with pytest.raises(errors.UnprocessableEntityError):
            client.browsers.create(browser_screen_width=1)
        with pytest.raises(errors.NotFoundError):
            client.browsers.stop("no-such-browser")
        with pytest.raises(errors.UnprocessableEntityError):
            client.browsers.create(browser_screen_width=1, request_timeout=7)
    assert CREATE_TIMEOUT >= 90
    assert seen[0]["read"] == CREATE_TIMEOUT  # the create
    assert seen[1]["read"] == 5  # the stop: the client's timeout
    assert seen[2]["read"] == 7  # the create that chose its own


def test_read_timeout_on_post_is_not_retried() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        raise httpx.ReadTimeout("slow", request=request)

    with _client(handler) as client:
        with pytest.raises(errors.APITimeoutError):
            client.browsers.create()  # it may have reached the server
    assert len(seen) == 1


def test_request_timeout_bounds_the_whole_call_retries_included() -> None:
    """A GET times out, is retried, times out again: with request_timeout= the retries share
    one budget, so a retry that would start after it is not made."""
    seen: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"]["read"])
        raise httpx.ReadTimeout("slow", request=request)

    with _client(handler, max_retries=5) as client:
        with pytest.raises(errors.APITimeoutError):
            client.browsers.get("b1", request_timeout=0.3)  # backoff 0.5 s: no time to retry
        assert seen == [0.3]
        seen.clear()
        with pytest.raises(errors.APITimeoutError):
            client.browsers.get("b1", request_timeout=2.0)
    assert 1 < len(seen) < 6  # some retries, each with what is left of the two seconds
    assert seen[0] == 2.0 and all(later < 2.0 for later in seen[1:])


# -- statuses no local part gives: a MockTransport -----------------------------------------


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, errors.BadRequestError),
        (403, errors.AuthenticationError),
        (418, errors.APIError),
        (500, errors.ServerError),
        (502, errors.ServerError),
        (503, errors.ServerError),
        (504, errors.ServerError),
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


def test_get_is_retried_on_gateway_errors() -> None:
    answers = [httpx.Response(502), httpx.Response(504), httpx.Response(200, json={"id": "b1"})]
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers[len(seen) - 1]

    with _client(handler) as client:
        assert client.browsers.get("b1").id == "b1"
    assert len(seen) == 3
    assert RetryPolicy().delay("GET", 0, httpx.Response(503)) is not None


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


def test_api_key_never_appears_in_repr_logs_or_errors(
    server: ServerThread, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with BrowserUse(base_url=server.base_url, api_key=KEY) as client:
        assert KEY not in repr(client)
        assert KEY not in repr(client.target)
        with pytest.raises(errors.AuthenticationError) as caught:
            client.browsers.get("b")
    assert KEY not in str(caught.value) and KEY not in repr(caught.value)
    assert KEY not in caplog.text


def test_key_and_base_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROWSER_USE_API_KEY", "env-key")
    client = BrowserUse()
    assert client.base_url == "https://api.browser-use.com/api/v3"
    monkeypatch.setenv("BU_CDP_BASE_URL", "http://elsewhere:9000/api/v3/")
    client = BrowserUse()
    assert client.base_url == "http://elsewhere:9000/api/v3"
    assert client._http.headers["X-Browser-Use-API-Key"] == "env-key"


async def test_async_client_shares_the_same_behaviour(server: ServerThread) -> None:
    async with AsyncBrowserUse(base_url=server.base_url, api_key=server.config.api_key) as client:
        workspace = await client.workspaces.create("async-docs")
        assert (await client.workspaces.get(str(workspace.id))).name == "async-docs"
        await client.workspaces.delete(str(workspace.id))
        with pytest.raises(errors.NotFoundError):
            await client.workspaces.get(str(workspace.id))
        with pytest.raises(TypeError):
            await client.browsers.create(bogus=1)
