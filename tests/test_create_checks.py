"""A create that can never succeed is refused at once: before it queues for a slot, before it
takes a warm Chromium (BrowserHooks.check)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bu_cdp.server.thread import ServerThread
from tests.support.local_api import create_browser, key_header
from tests.support.waiting import wait_until


def _metrics(server: ServerThread) -> dict[str, Any]:
    answer = httpx.get(server.base_url + "/metrics", headers=key_header(server), timeout=30)
    metrics: dict[str, Any] = answer.json()
    return metrics


def test_at_the_limit_a_bad_request_gets_its_error_not_a_429(
    make_server: Callable[..., ServerThread], tmp_path: Path
) -> None:
    # One slot, taken. A request that waited for it would get 429 after the queue timeout,
    # which clients retry: a request that can never succeed must say why at once.
    server = make_server(data_dir=tmp_path, max_browsers=1, queue_timeout=2.0)
    running = create_browser(server, {"timeout": 5})
    assert running.status_code == 200, running.text

    unknown = str(uuid.uuid4())
    no_profile = create_browser(server, {"profile_id": unknown})
    assert no_profile.status_code == 404, no_profile.text
    assert unknown in no_profile.json()["detail"] and "profile_id" in no_profile.json()["detail"]

    no_proxy = create_browser(server, {"proxy_country_code": "zz"})
    assert no_proxy.status_code == 422, no_proxy.text
    assert no_proxy.json()["detail"][0]["loc"][-1] == "proxy_country_code"

    both = create_browser(
        server,
        {"proxy_country_code": "us", "custom_proxy": {"host": "127.0.0.1", "port": 9}},
    )
    assert both.status_code == 422, both.text
    assert both.json()["detail"][0]["loc"][-1] == "custom_proxy"

    figures = _metrics(server)
    assert (figures["queued_creates"], figures["creates_rejected"]) == (0, 0)  # none queued
    assert figures["launches"] == 1  # only the running browser's
    stopped = httpx.post(
        f"{server.base_url}/browsers/{running.json()['id']}/stop", headers=key_header(server)
    )
    assert stopped.status_code == 200


def test_without_credit_a_create_leaves_the_warm_chromium_alone(
    make_server: Callable[..., ServerThread], tmp_path: Path
) -> None:
    server = make_server(data_dir=tmp_path, credit=0.0, warm=1)
    wait_until(lambda: _metrics(server)["pool_ready"] == 1, 60.0, "the pool to fill")

    refused = create_browser(server, {})
    assert refused.status_code == 402, refused.text
    assert "No credit left" in refused.json()["detail"]

    # The warm Chromium was never taken: not killed, not replaced by a new launch.
    figures = _metrics(server)
    assert (figures["pool_ready"], figures["pool_launching"]) == (1, 0)
    assert figures["launches"] == 1
    assert figures["creates_from_pool"] == 0
