"""The hosted face's browsers (``/hosted/api/v3``), over real HTTP with real Chromium, and the
seed face's ``GET /api/v3/browsers`` extension, which reads the same store."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import sync_playwright

from bu_cdp.server.thread import ServerThread
from tests.support.local_api import key_header
from tests.support.pages import PageServer
from tests.support.processes import live_chromiums

UNKNOWN = "7c0c1f5e-6d51-4a52-9c53-1d2b39d2a8f1"


def hosted_url(server: ServerThread) -> str:
    return server.base_url.removesuffix("/api/v3") + "/hosted/api/v3"


def call(server: ServerThread, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(
        method, hosted_url(server) + path, headers=key_header(server), timeout=60, **kwargs
    )


def assert_hosted_error(answer: httpx.Response, status: int, field: str | None) -> None:
    """The hosted error shape: a message, or a 422 naming ``field`` in ``detail`` and at the
    top level (the document's ValidationError)."""
    assert answer.status_code == status, answer.text
    detail = answer.json()["detail"]
    if field is None:
        assert isinstance(detail, str) and detail
    else:
        assert [error["loc"][-1] for error in detail] == [field]
        assert answer.json()["loc"][-1] == field


def test_a_browser_through_the_hosted_face(server: ServerThread, pages: PageServer) -> None:
    created = call(
        server, "POST", "/browsers", json={"browserScreenWidth": 800, "browserScreenHeight": 600}
    )
    assert created.status_code == 201, created.text
    browser = created.json()
    assert browser["status"] == "active"
    assert browser["cdpUrl"].startswith("ws://127.0.0.1:")
    assert browser["liveUrl"].startswith("http://127.0.0.1:")
    assert browser["timeoutAt"] > browser["startedAt"]
    assert browser["finishedAt"] is None
    with sync_playwright() as pw:
        remote = pw.chromium.connect_over_cdp(browser["cdpUrl"])
        page = remote.contexts[0].pages[0]
        page.goto(pages.url + "/size")
        assert page.title() == "800x600"
        remote.close()

    active = call(server, "GET", "/browsers", params={"filterBy": "active", "pageSize": 100})
    assert browser["id"] in [item["id"] for item in active.json()["items"]]
    seed_active = httpx.get(
        server.base_url + "/browsers", params={"status": "active"}, headers=key_header(server)
    ).json()
    assert browser["id"] in [item["id"] for item in seed_active]

    process = server.manager.get(browser["id"]).process
    assert process is not None and process.pid in live_chromiums()
    stopped = call(server, "PATCH", f"/browsers/{browser['id']}", json={"action": "stop"})
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["status"] == "stopped" and stopped.json()["finishedAt"]
    assert stopped.json()["cdpUrl"] is None
    assert process.pid not in live_chromiums()
    assert call(server, "GET", f"/browsers/{browser['id']}").json()["status"] == "stopped"

    listed = call(server, "GET", "/browsers", params={"filterBy": "stopped", "pageSize": 100})
    body = listed.json()
    assert set(body) >= {"items", "totalItems", "pageNumber", "pageSize"}
    assert browser["id"] in [item["id"] for item in body["items"]]
    active_ids = [
        item["id"]
        for item in call(server, "GET", "/browsers", params={"filterBy": "active"}).json()["items"]
    ]
    assert browser["id"] not in active_ids


def test_hosted_lists_are_paged(server: ServerThread) -> None:
    total = call(server, "GET", "/browsers").json()["totalItems"]
    if total < 2:  # make sure there are two pages of one
        for _ in range(2 - total):
            made = call(server, "POST", "/browsers", json={}).json()
            call(server, "PATCH", f"/browsers/{made['id']}", json={"action": "stop"})
    first = call(server, "GET", "/browsers", params={"pageSize": 1, "pageNumber": 1}).json()
    second = call(server, "GET", "/browsers", params={"pageSize": 1, "pageNumber": 2}).json()
    assert first["pageSize"] == 1 and second["pageNumber"] == 2
    assert len(first["items"]) == len(second["items"]) == 1
    assert first["items"][0]["id"] != second["items"][0]["id"]
    assert first["totalItems"] >= 2


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [
        ("POST", "/browsers", {"timeout": 999}, 403, None),
        ("POST", "/browsers", {"timeout": 0}, 422, "timeout"),
        ("POST", "/browsers", {"bogus": 1}, 422, "bogus"),
        ("POST", "/browsers", {"proxyCountryCode": "de"}, 422, "proxyCountryCode"),
        ("POST", "/browsers", {"browserScreenWidth": 10}, 422, "browserScreenWidth"),
        ("POST", "/browsers", {"profileId": "not-a-uuid"}, 422, "profileId"),
        ("POST", "/browsers", {"profileId": UNKNOWN}, 404, None),
        ("GET", "/browsers/not-a-uuid", None, 422, "session_id"),
        ("GET", f"/browsers/{UNKNOWN}", None, 404, None),
        ("PATCH", f"/browsers/{UNKNOWN}", {"action": "stop"}, 404, None),
        ("PATCH", f"/browsers/{UNKNOWN}", {"action": "explode"}, 422, "action"),
        ("GET", "/browsers?pageSize=0", None, 422, "pageSize"),
        ("GET", "/browsers?filterBy=sleeping", None, 422, "filterBy"),
    ],
)
def test_bad_input_gets_the_hosted_error_shape(
    server: ServerThread, method: str, path: str, body: Any, status: int, field: str | None
) -> None:
    assert_hosted_error(call(server, method, path, json=body), status, field)


def test_a_custom_proxy_password_is_never_echoed(server: ServerThread) -> None:
    proxy = {"host": "proxy.invalid", "port": 0, "password": "SECRET-PASSWORD"}
    answer = call(server, "POST", "/browsers", json={"customProxy": proxy})
    assert answer.status_code == 422
    assert "SECRET-PASSWORD" not in answer.text


def test_the_hosted_face_needs_the_key(server: ServerThread) -> None:
    answer = httpx.get(hosted_url(server) + "/browsers")
    assert answer.status_code == 401
    assert "X-Browser-Use-API-Key" in answer.json()["detail"]


def test_seed_list_refuses_an_unknown_status(server: ServerThread) -> None:
    answer = httpx.get(
        server.base_url + "/browsers", params={"status": "sleeping"}, headers=key_header(server)
    )
    assert answer.status_code == 422
