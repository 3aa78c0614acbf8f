"""Agent sessions on the local server without an LLM: 501 to create, the rest on the store."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from bu_cdp import BrowserUse, errors
from bu_cdp.models import SessionStatus
from bu_cdp.server.sessions.manager import SessionManager
from bu_cdp.server.thread import ServerThread


def test_without_an_llm_creating_a_session_says_how_to_configure_one(
    api: dict[str, str],
) -> None:
    with BrowserUse(**api) as client:
        with pytest.raises(errors.NotSupportedError) as refused:
            client.sessions.create("find the cheapest flight")
    message = str(refused.value)
    assert refused.value.status_code == 501
    assert "BU_CDP_AGENT_BASE_URL" in message
    assert "bu-cdp[agent]" in message
    assert "BROWSER_USE_API_KEY" in message


def test_a_session_request_without_a_task_is_refused_naming_it(api: dict[str, str]) -> None:
    answer = httpx.post(
        api["base_url"] + "/sessions",
        json={"model": "x"},
        headers={"X-Browser-Use-API-Key": api["api_key"]},
    )
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "task"]


def test_unknown_sessions_are_404_on_every_path(api: dict[str, str]) -> None:
    with BrowserUse(**api) as client:
        for call in (
            client.sessions.get,
            client.sessions.stop,
            client.sessions.messages,
            client.sessions.recording,
        ):
            with pytest.raises(errors.NotFoundError, match="no-such-session"):
                call("no-such-session")


def test_sessions_in_the_store_are_listed_read_and_stopped(
    make_server: Callable[..., ServerThread], tmp_path: Path
) -> None:
    server = make_server(data_dir=tmp_path)
    # What an agent runner would record; the local server has none, so the test does.
    store: SessionManager = server.app.state.persistence.sessions
    done = store.record(
        "summarise the news",
        status=SessionStatus.STOPPED,
        output="three stories",
        recording_url="https://recordings.example/1.mp4",
        steps=[{"action": "goto"}],
        messages=[{"role": "assistant", "content": "done"}],
    )
    running = store.record("watch prices")
    with BrowserUse(base_url=server.base_url, api_key=server.config.api_key) as client:
        listed = client.sessions.list()
        assert {s.id for s in listed} == {done["id"], running["id"]}
        assert [s.id for s in client.sessions.list(limit=1)] == [listed[0].id]
        assert [s.id for s in client.sessions.list(limit=1, offset=1)] == [listed[1].id]
        assert client.sessions.list(offset=2) == []

        got = client.sessions.get(done["id"])
        assert (got.status, got.output, got.steps) == (
            "stopped",
            "three stories",
            [{"action": "goto"}],
        )
        assert [m.model_extra for m in client.sessions.messages(done["id"])] == [
            {"role": "assistant", "content": "done"}
        ]
        assert (
            client.sessions.recording(done["id"]).recording_url
            == "https://recordings.example/1.mp4"
        )
        with pytest.raises(errors.NotFoundError, match="no recording"):
            client.sessions.recording(running["id"])

        assert client.sessions.stop(running["id"])["status"] == "stopped"
        assert client.sessions.get(running["id"]).status == "stopped"
        assert (client.billing.usage().model_extra or {})["sessions"] == 2

        with pytest.raises(errors.UnprocessableEntityError):
            client.sessions.list(limit=-1)


def test_deleting_a_stored_session_stops_it_then_forgets_it(tmp_path: Path) -> None:
    from bu_cdp.server.shared.problems import ApiProblem
    from bu_cdp.server.storage.store import Store

    store = Store(tmp_path)
    try:
        sessions = SessionManager(store)
        kept = sessions.record("keep me", status=SessionStatus.STOPPED)
        gone = sessions.record("forget me")
        asyncio.run(sessions.delete(gone["id"]))
        with pytest.raises(ApiProblem, match="not found"):
            sessions.get(gone["id"])
        assert [s["id"] for s in sessions.list(None, None)] == [kept["id"]]
    finally:
        store.close()
