"""The hosted face's profiles, workspaces, sessions and billing over real HTTP: the hosted
shapes, both casings, and bad input answered in the hosted error shape, never a 500.

Sessions are stored the way an agent runner stores them (``SessionManager.record``): the local
server has no runner of its own, and only a runner makes sessions."""

from __future__ import annotations

from typing import Any

import pytest

from bu_cdp.models import SessionStatus
from bu_cdp.server.sessions.manager import SessionManager
from bu_cdp.server.thread import ServerThread
from tests.test_hosted_browsers import UNKNOWN, assert_hosted_error, call


def _sessions(server: ServerThread) -> SessionManager:
    sessions: SessionManager = server.app.state.persistence.sessions
    return sessions


def test_profiles_and_workspaces_answer_in_camel_case(server: ServerThread) -> None:
    for kind in ("profiles", "workspaces"):
        made = call(server, "POST", f"/{kind}", json={"name": "camel"})
        assert made.status_code == 201
        item = made.json()
        assert item["createdAt"] and item["updatedAt"] and item["name"] == "camel"
        renamed = call(server, "PATCH", f"/{kind}/{item['id']}", json={"name": "renamed"})
        assert renamed.json()["name"] == "renamed"
        listed = call(server, "GET", f"/{kind}", params={"pageSize": 100}).json()
        assert item["id"] in [entry["id"] for entry in listed["items"]]
        assert listed["totalItems"] >= 1 and listed["pageSize"] == 100
        deleted = call(server, "DELETE", f"/{kind}/{item['id']}")
        assert deleted.status_code == 204
        assert call(server, "GET", f"/{kind}/{item['id']}").status_code == 404


def test_a_profile_query_pages_through_the_matches(server: ServerThread) -> None:
    made = [call(server, "POST", "/profiles", json={"name": f"paged {n}"}).json() for n in (1, 2)]
    first = call(server, "GET", "/profiles", params={"query": "paged", "pageSize": 1}).json()
    second = call(
        server, "GET", "/profiles", params={"query": "paged", "pageSize": 1, "pageNumber": 2}
    ).json()
    assert first["totalItems"] == second["totalItems"] == 2
    assert [first["items"][0]["id"], second["items"][0]["id"]] == [p["id"] for p in made]
    for profile in made:
        call(server, "DELETE", f"/profiles/{profile['id']}")


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [
        ("POST", "/profiles", {"userId": "u-1"}, 422, "userId"),
        ("POST", "/profiles", {"name": "a\x00b"}, 422, "name"),
        ("POST", "/profiles", {"nmae": "typo"}, 422, "nmae"),
        ("PATCH", f"/profiles/{UNKNOWN}", {"name": "x"}, 404, None),
        ("GET", "/profiles/not-a-uuid", None, 422, "profile_id"),
        ("GET", "/profiles?pageSize=101", None, 422, "pageSize"),
        ("DELETE", f"/workspaces/{UNKNOWN}", None, 404, None),
        ("GET", f"/workspaces/{UNKNOWN}/files", None, 404, None),
        ("GET", f"/workspaces/{UNKNOWN}/size", None, 404, None),
        ("DELETE", f"/workspaces/{UNKNOWN}/files?path=a.txt", None, 404, None),
        ("GET", f"/sessions/{UNKNOWN}", None, 404, None),
        ("DELETE", f"/sessions/{UNKNOWN}", None, 404, None),
        ("POST", f"/sessions/{UNKNOWN}/stop", {"strategy": "all"}, 422, "strategy"),
        ("GET", "/sessions?page_size=0", None, 422, "page_size"),
    ],
)
def test_bad_input_gets_the_hosted_error_shape(
    server: ServerThread, method: str, path: str, body: Any, status: int, field: str | None
) -> None:
    assert_hosted_error(call(server, method, path, json=body), status, field)


def test_workspace_files_bad_paths_and_cursors(server: ServerThread) -> None:
    workspace = call(server, "POST", "/workspaces").json()  # no body: the SDK sends none
    assert workspace["name"] is None
    base = f"/workspaces/{workspace['id']}/files"
    for params, field in (({"path": "../x"}, "path"), ({"path": "gone.txt"}, None)):
        answer = call(server, "DELETE", base, params=params)
        assert answer.status_code == (422 if field else 404), answer.text
    answer = call(server, "GET", base, params={"cursor": "%%%"})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["query", "cursor"]


def test_sessions_through_the_hosted_face(server: ServerThread) -> None:
    messages = [{"role": "human", "data": "find it"}, {"role": "ai", "data": "found"}] + [
        {"role": "ai", "data": f"step {n}"} for n in range(3)
    ]
    stored = _sessions(server).record("find it", status=SessionStatus.IDLE, messages=messages)
    finished = _sessions(server).record(
        "done", status=SessionStatus.STOPPED, recording_url="http://example.test/video.webm"
    )
    listed = call(server, "GET", "/sessions", params={"page_size": 100}).json()
    assert set(listed) == {"sessions", "total", "page", "pageSize"}
    ids = [s["id"] for s in listed["sessions"]]
    assert stored["id"] in ids and finished["id"] in ids

    shown = call(server, "GET", f"/sessions/{stored['id']}").json()
    assert shown["status"] == "idle" and shown["createdAt"] and shown["recordingUrls"] == []
    recorded = call(server, "GET", f"/sessions/{finished['id']}").json()
    assert recorded["recordingUrls"] == ["http://example.test/video.webm"]

    first = call(server, "GET", f"/sessions/{stored['id']}/messages", params={"limit": 2}).json()
    assert [m["data"] for m in first["messages"]] == ["find it", "found"] and first["hasMore"]
    after = first["messages"][-1]["id"]
    rest = call(server, "GET", f"/sessions/{stored['id']}/messages", params={"after": after}).json()
    assert [m["data"] for m in rest["messages"]] == ["step 0", "step 1", "step 2"]
    assert not rest["hasMore"] and rest["messages"][0]["sessionId"] == stored["id"]

    kept = call(server, "POST", f"/sessions/{stored['id']}/stop", json={"strategy": "task"})
    assert kept.json()["status"] == "idle"  # no task runs here: the session stays
    stopped = call(server, "POST", f"/sessions/{stored['id']}/stop")
    assert stopped.json()["status"] == "stopped"
    assert call(server, "DELETE", f"/sessions/{stored['id']}").status_code == 204
    assert call(server, "GET", f"/sessions/{stored['id']}").status_code == 404
    call(server, "DELETE", f"/sessions/{finished['id']}")


def test_creating_a_session_answers_as_the_seed_face_does(server: ServerThread) -> None:
    answer = call(server, "POST", "/sessions", json={"task": "find it", "keepAlive": True})
    assert answer.status_code == 501
    assert "BU_CDP_AGENT_BASE_URL" in answer.json()["detail"]  # the seed face's own words
    assert call(server, "POST", "/sessions", json={"sessionId": "nope"}).status_code == 422


def test_billing_account(server: ServerThread) -> None:
    account = call(server, "GET", "/billing/account").json()
    assert account["planInfo"]["planName"] == "bu-cdp local server"
    assert isinstance(account["totalCreditsBalanceUsd"], float)
    assert account["concurrentSessionLimit"] == server.config.max_browsers
