"""Agent sessions that cannot finish: the reason is said, and nothing is left running.

The language model is the only stand-in (no local part can produce its answers): a scripted
OpenAI-compatible server (tests/support/scripted_llm.py), or a port where nothing listens.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bu_cdp import BrowserUse, errors
from bu_cdp.models import SessionStatus
from bu_cdp.server.thread import ServerThread
from tests.support.pages import PageServer
from tests.support.scripted_llm import ScriptedLLM, Step, broken, navigate, nonsense


@pytest.fixture
def start(
    make_server: Callable[..., ServerThread], tmp_path: Path
) -> Iterator[Callable[..., BrowserUse]]:
    """A server whose agents use the LLM at ``base_url``, and a client of it."""
    clients: list[BrowserUse] = []

    def make(base_url: str, **settings: Any) -> BrowserUse:
        server = make_server(
            data_dir=tmp_path / "data", agent_base_url=base_url, agent_model="m", **settings
        )
        client = BrowserUse(base_url=server.base_url, api_key=server.config.api_key)
        client.server = server  # type: ignore[attr-defined]
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def _ends_in_error(client: BrowserUse) -> str:
    with pytest.raises(errors.SessionFailedError) as failed:
        client.sessions.run("Find the price of the blue kettle", poll_interval=0.2, timeout=120)
    session = failed.value.session
    assert session is not None and session.status == SessionStatus.ERROR
    server: ServerThread = client.server  # type: ignore[attr-defined]
    assert server.manager.active() == []  # its browser stopped with it
    assert not [t for t in threading.enumerate() if t.name == "bu-cdp-agent"]
    return str(session.output)


def test_an_unreachable_llm_ends_the_session_in_error_naming_it(
    start: Callable[..., BrowserUse], closed_port: int
) -> None:
    url = f"http://127.0.0.1:{closed_port}/v1"
    reason = _ends_in_error(start(url))
    assert f"the LLM 'm' at {url}" in reason
    assert "gave no usable answer" in reason
    assert "Connection error" in reason


@pytest.mark.parametrize(
    ("answer", "said"),
    [(broken, "model exploded"), (nonsense, "Invalid JSON")],
    ids=["error-status", "not-json"],
)
def test_an_llm_that_answers_badly_ends_the_session_in_error_naming_it(
    start: Callable[..., BrowserUse], answer: Step, said: str
) -> None:
    with ScriptedLLM([answer]) as llm:
        reason = _ends_in_error(start(llm.base_url))
    assert f"the LLM 'm' at {llm.base_url} gave no usable answer" in reason
    assert said in reason


def test_an_answer_that_does_not_fit_the_output_schema_is_an_error(
    start: Callable[..., BrowserUse],
) -> None:
    from tests.support.scripted_llm import _agent_output

    no_amount = [lambda request: _agent_output([{"done": {"data": {"product": "k"}}}], "x")]
    with ScriptedLLM(no_amount) as llm:
        client = start(llm.base_url)
        schema = {
            "type": "object",
            "properties": {"product": {"type": "string"}, "amount": {"type": "number"}},
            "required": ["product", "amount"],
        }
        with pytest.raises(errors.SessionFailedError) as failed:
            client.sessions.run("Price?", output_schema=schema, poll_interval=0.2, timeout=120)
    reason = str(failed.value)
    assert "amount" in reason and "Field required" in reason


def test_a_schema_that_cannot_be_used_is_refused_before_a_browser_starts(
    start: Callable[..., BrowserUse],
) -> None:
    client = start("http://127.0.0.1:9/v1")
    with pytest.raises(errors.UnprocessableEntityError, match="output_schema cannot be used"):
        client.sessions.create("x", output_schema={"type": "string"})
    with pytest.raises(errors.UnprocessableEntityError, match="proxy_country_code"):
        client.sessions.create("x", proxy_country_code="!")
    with pytest.raises(errors.NotFoundError, match="nope"):
        client.sessions.create("x", workspace_id="nope")
    with pytest.raises(errors.NotFoundError, match="profile"):
        client.sessions.create("x", profile_id="00000000-0000-0000-0000-000000000000")
    server: ServerThread = client.server  # type: ignore[attr-defined]
    assert server.manager.active() == []
    assert client.sessions.list() == []


def test_a_follow_up_on_a_session_that_is_not_idle_is_a_conflict(
    start: Callable[..., BrowserUse], closed_port: int
) -> None:
    client = start(f"http://127.0.0.1:{closed_port}/v1")
    with pytest.raises(errors.SessionFailedError) as failed:
        client.sessions.run("x", poll_interval=0.2, timeout=120)
    session_id = failed.value.session.id  # type: ignore[union-attr]
    with pytest.raises(errors.ConflictError, match="is error: a follow-up task needs an idle"):
        client.sessions.create("more", session_id=session_id)
    with pytest.raises(errors.NotFoundError):
        client.sessions.create("more", session_id="no-such-session")


def test_the_browsers_timeout_ends_the_session_timed_out(
    start: Callable[..., BrowserUse], pages: PageServer
) -> None:
    # One API minute is a tenth of a second here; the model never answers its second call.
    with ScriptedLLM([navigate(pages.url + "/shop")], hold_from=1) as llm:
        client = start(llm.base_url, default_timeout_minutes=30, minute_seconds=0.1)
        with pytest.raises(errors.SessionFailedError) as failed:
            client.sessions.run("x", poll_interval=0.2, timeout=120)
    session = failed.value.session
    assert session is not None and session.status == SessionStatus.TIMED_OUT
    assert "timeout of 30 minute(s) reached" in str(session.output)


def test_without_an_llm_the_answer_names_the_setting_and_the_extra(
    make_server: Callable[..., ServerThread],
) -> None:
    server = make_server()
    answer = httpx.post(
        server.base_url + "/sessions",
        json={"task": "x"},
        headers={"X-Browser-Use-API-Key": server.config.api_key},
    )
    assert answer.status_code == 501
    assert "BU_CDP_AGENT_BASE_URL" in answer.json()["detail"]
    assert "bu-cdp[agent]" in answer.json()["detail"]
