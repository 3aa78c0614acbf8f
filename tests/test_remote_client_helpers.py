"""Client helpers: sessions.run(), sessions.stream(), sessions.iter().

The local server answers 501 for agent sessions (there is no agent runner here), so these play
a realistic sequence of hosted-API answers through an httpx MockTransport: a session that runs
for a few polls and then stops, fails or idles; messages that arrive over several polls; a list
served page by page.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from bu_cdp import AsyncBrowserUse, BrowserUse, errors

KEY = "sk-test-key-for-sessions"
BASE = "https://api.test/api/v3"


class Product(BaseModel):
    name: str
    price: float


class AgentApi:
    """A session that is ``running`` for ``polls`` gets, then ends as ``final`` says."""

    def __init__(self, final: dict[str, Any], polls: int = 2) -> None:
        self.final = final
        self.polls = polls
        self.calls: list[str] = []
        self.created: dict[str, Any] | None = None
        self.stopped = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/v3")
        self.calls.append(f"{request.method} {path}")
        if request.method == "POST" and path == "/sessions":
            self.created = json.loads(request.content)
            return httpx.Response(
                200, json={"id": "s1", "status": "running", "liveUrl": "https://live.test/s1"}
            )
        if path == "/sessions/s1/stop":
            self.stopped = True
            return httpx.Response(200, json={})
        gets = self.calls.count("GET /sessions/s1")
        if self.stopped:
            return httpx.Response(200, json={"id": "s1", "status": "stopped"})
        if gets <= self.polls:
            return httpx.Response(200, json={"id": "s1", "status": "running"})
        return httpx.Response(200, json={"id": "s1", **self.final})


def _client(api: Callable[[httpx.Request], httpx.Response]) -> BrowserUse:
    return BrowserUse(api_key=KEY, base_url=BASE, transport=httpx.MockTransport(api))


FAST = {"poll_interval": 0.01, "max_poll_interval": 0.02}


def test_run_sends_the_schema_waits_and_returns_the_parsed_model() -> None:
    output = json.dumps({"name": "Lamp", "price": 12.5})
    api = AgentApi({"status": "stopped", "output": output}, polls=3)
    with _client(api) as client:
        product = client.sessions.run(
            "find the lamp", output_schema=Product, model="bu-mini", **FAST
        )
    assert product == Product(name="Lamp", price=12.5)
    assert api.created == {
        "task": "find the lamp",
        "model": "bu-mini",
        "output_schema": Product.model_json_schema(),
    }
    assert api.calls.count("GET /sessions/s1") == 4  # three running, then stopped
    assert not api.stopped  # finished by itself: nothing to stop


def test_run_logs_the_live_url_at_debug_only(caplog: pytest.LogCaptureFixture) -> None:
    api = AgentApi({"status": "stopped", "output": "done"}, polls=1)
    with caplog.at_level(logging.DEBUG, logger="bu_cdp"), _client(api) as client:
        client.sessions.run("watch me", **FAST)
    live = [r for r in caplog.records if "https://live.test/s1" in r.getMessage()]
    assert [r.levelno for r in live] == [logging.DEBUG]  # whoever has it can watch
    assert "session s1 started" in caplog.text


def test_run_without_a_schema_returns_the_raw_output() -> None:
    api = AgentApi({"status": "stopped", "output": "The top post is X"}, polls=1)
    with _client(api) as client:
        assert client.sessions.run("top post?", **FAST) == "The top post is X"
    assert api.created == {"task": "top post?"}


def test_run_ends_on_idle_after_running_for_a_keep_alive_session() -> None:
    api = AgentApi({"status": "idle", "output": {"name": "Desk", "price": 99}}, polls=1)
    with _client(api) as client:
        product = client.sessions.run("desk", output_schema=Product, keep_alive=True, **FAST)
    assert product.price == 99


@pytest.mark.parametrize("status", ["error", "timed_out"])
def test_run_raises_when_the_session_fails(status: str) -> None:
    api = AgentApi({"status": status, "output": "captcha wall"}, polls=1)
    with _client(api) as client, pytest.raises(errors.SessionFailedError) as caught:
        client.sessions.run("anything", output_schema=Product, **FAST)
    assert f"session s1 ended with status {status}: captcha wall" in str(caught.value)
    assert caught.value.session.id == "s1"


def test_run_says_when_the_output_does_not_fit_the_schema() -> None:
    api = AgentApi({"status": "stopped", "output": '{"name": "Lamp"}'}, polls=0)
    with _client(api) as client, pytest.raises(errors.SessionOutputError) as caught:
        client.sessions.run("lamp", output_schema=Product, **FAST)
    assert "does not fit Product" in str(caught.value)
    assert "price" in str(caught.value)

    api = AgentApi({"status": "stopped", "output": "sorry, no lamp"}, polls=0)
    with _client(api) as client, pytest.raises(errors.SessionOutputError, match="no lamp"):
        client.sessions.run("lamp", output_schema=Product, **FAST)


def test_run_gives_up_after_its_timeout_and_stops_the_session() -> None:
    api = AgentApi({"status": "stopped"}, polls=10_000)
    with _client(api) as client, pytest.raises(errors.SessionTimeoutError) as caught:
        client.sessions.run("forever", timeout=0.1, **FAST)
    assert "session s1 still running after 0.1s" in str(caught.value)
    assert isinstance(caught.value, TimeoutError)
    assert api.calls[-1] == "POST /sessions/s1/stop"


def test_run_rejects_an_unknown_create_field_before_sending() -> None:
    api = AgentApi({"status": "stopped"})
    with _client(api) as client, pytest.raises(TypeError, match="keepalive"):
        client.sessions.run("x", keepalive=True)
    assert api.calls == []


class MessagesApi:
    """Messages arrive over polls: two at once, then one, then one as the session stops."""

    def __init__(self) -> None:
        self.polls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/v3")
        if path == "/sessions/s1":
            self.polls += 1
            return httpx.Response(
                200, json={"id": "s1", "status": "running" if self.polls < 4 else "stopped"}
            )
        if path == "/sessions/s1/messages":
            count = {1: 2, 2: 2, 3: 3}.get(self.polls, 4)
            return httpx.Response(
                200, json=[{"id": f"m{i}", "text": f"step {i}"} for i in range(1, count + 1)]
            )
        return httpx.Response(404)


def test_stream_yields_each_message_once_until_the_session_ends() -> None:
    api = MessagesApi()
    with _client(api) as client:
        texts = [m.model_extra["text"] for m in client.sessions.stream("s1", **FAST)]  # type: ignore[index]
    assert texts == ["step 1", "step 2", "step 3", "step 4"]
    assert api.polls == 4


def _pages(total: int, seen: list[tuple[int, int]]) -> Callable[[httpx.Request], httpx.Response]:
    def api(request: httpx.Request) -> httpx.Response:
        limit = int(request.url.params["limit"])
        offset = int(request.url.params["offset"])
        seen.append((limit, offset))
        items = [{"id": f"s{i}", "status": "stopped"} for i in range(total)]
        return httpx.Response(200, json=items[offset : offset + limit])

    return api


def test_iter_pages_through_every_session() -> None:
    seen: list[tuple[int, int]] = []
    with _client(_pages(5, seen)) as client:
        ids = [s.id for s in client.sessions.iter(page_size=2)]
    assert ids == ["s0", "s1", "s2", "s3", "s4"]
    assert seen == [(2, 0), (2, 2), (2, 4)]


def test_iter_stops_when_a_server_ignores_paging() -> None:
    def api(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[{"id": "a"}, {"id": "b"}])

    with _client(api) as client:
        assert [s.id for s in client.sessions.iter(page_size=2)] == ["a", "b"]


async def test_the_async_client_has_the_same_helpers() -> None:
    output = json.dumps({"name": "Lamp", "price": 1})
    transport = httpx.MockTransport(AgentApi({"status": "stopped", "output": output}))
    async with AsyncBrowserUse(api_key=KEY, base_url=BASE, transport=transport) as client:
        product = await client.sessions.run("lamp", output_schema=Product, **FAST)
    assert product.name == "Lamp"

    transport = httpx.MockTransport(MessagesApi())
    async with AsyncBrowserUse(api_key=KEY, base_url=BASE, transport=transport) as client:
        ids = [m.model_extra["id"] async for m in client.sessions.stream("s1", **FAST)]  # type: ignore[index]
    assert ids == ["m1", "m2", "m3", "m4"]

    seen: list[tuple[int, int]] = []
    transport = httpx.MockTransport(_pages(3, seen))
    async with AsyncBrowserUse(api_key=KEY, base_url=BASE, transport=transport) as client:
        assert len([s async for s in client.sessions.iter(page_size=2)]) == 3
