"""The browser limit and its queue, and what /health and the metrics endpoint tell."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx

from bu_cdp.server.thread import ServerThread
from tests.support.local_api import create_browser, key_header
from tests.support.waiting import wait_until


def test_past_the_limit_creates_queue_then_get_429_with_retry_after(
    make_server: Callable[..., ServerThread],
) -> None:
    server = make_server(max_browsers=1, max_queued=1, queue_timeout=1.0)
    headers = key_header(server)
    url = server.base_url + "/browsers"

    def create() -> httpx.Response:
        return create_browser(server, {"timeout": 5})

    def queued() -> int:
        return int(server.manager.snapshot()["queued_creates"])  # type: ignore[call-overload]

    first = create()
    assert first.status_code == 200
    with ThreadPoolExecutor(1) as background:
        # A second create waits for the slot; a third finds the queue full: 429 at once.
        waiting = background.submit(create)
        wait_until(lambda: queued() == 1, 30, "the second create to queue")
        refused = create()
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) >= 1
        assert "1 of 1" in refused.json()["detail"]
        # The waiting one gives up after queue_timeout, also with 429.
        timed_out = waiting.result()
        assert timed_out.status_code == 429
        assert int(timed_out.headers["Retry-After"]) >= 1

        # Stopping the running browser hands its slot to the create waiting for it.
        waiting = background.submit(create)
        wait_until(lambda: queued() == 1, 30, "the next create to queue")
        stop = httpx.post(f"{url}/{first.json()['id']}/stop", headers=headers, timeout=30)
        assert stop.json()["status"] == "stopped"
        second = waiting.result()
    assert second.status_code == 200
    assert second.json()["status"] == "active"

    metrics = httpx.get(server.base_url + "/metrics", headers=headers).json()
    assert metrics["active_browsers"] == 1
    assert metrics["max_browsers"] == 1
    assert metrics["queued_creates"] == 0
    assert metrics["creates"] == 2
    assert metrics["creates_rejected"] == 2
    assert metrics["launches"] == 2
    assert metrics["launch_failures"] == 0
    latency = metrics["create_latency_ms"]
    assert latency["count"] == 2
    assert latency["last"] > 0
    assert latency["p95"] >= latency["avg"] > 0  # two creates: p95 lies between them
    httpx.post(f"{url}/{second.json()['id']}/stop", headers=headers, timeout=30)


def test_health_needs_no_key_and_tells_nothing_private(server: ServerThread) -> None:
    base = server.base_url.removesuffix("/api/v3")
    answer = httpx.get(base + "/health")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


def test_metrics_need_the_key(server: ServerThread) -> None:
    assert httpx.get(server.base_url + "/metrics").status_code == 401
    answer = httpx.get(server.base_url + "/metrics", headers=key_header(server))
    assert answer.status_code == 200
    assert {
        "active_browsers",
        "queued_creates",
        "launches",
        "launch_failures",
        "crashes",
        "pool_ready",
        "create_latency_ms",
    } <= set(answer.json())
