"""Agent sessions end to end: a real browser-use agent drives a real browser of the server.

The only stand-in is the language model (no local part can produce its answers): a scripted
OpenAI-compatible server (tests/support/scripted_llm.py) answers the agent's chat-completion
requests. The agent, its browser on the local server, and the page it reads are all real.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from pydantic import BaseModel

from bu_cdp import BrowserUse
from bu_cdp.models import SessionStatus
from bu_cdp.server.thread import ServerThread
from tests.support.pages import PageServer
from tests.support.scripted_llm import (
    ScriptedLLM,
    click,
    done,
    done_text,
    navigate,
    page_text,
)

RECIPES = Path(__file__).parent.parent / "recipes"


class Price(BaseModel):
    product: str
    amount: float
    currency: str


def read_price(text: str) -> dict[str, Any]:
    """What a model would read off the page: the price appears only after the click."""
    found = re.search(r"Price: ([\d.]+) (\w+)", text)
    assert found, f"the price is not in the agent's view:\n{text[-2000:]}"
    return {"product": "Blue kettle", "amount": float(found.group(1)), "currency": found.group(2)}


def shop_script(pages: PageServer) -> list[Any]:
    return [navigate(pages.url + "/shop"), click("Show price"), done(read_price)]


@pytest.fixture
def agent_server(
    make_server: Callable[..., ServerThread], tmp_path: Path
) -> Callable[[ScriptedLLM], ServerThread]:
    def start(llm: ScriptedLLM, **settings: Any) -> ServerThread:
        return make_server(
            data_dir=tmp_path / "data",
            agent_base_url=llm.base_url,
            agent_model=llm.model,
            **settings,
        )

    return start


@pytest.fixture
def client_of() -> Iterator[Callable[[ServerThread], BrowserUse]]:
    clients: list[BrowserUse] = []

    def make(server: ServerThread) -> BrowserUse:
        client = BrowserUse(base_url=server.base_url, api_key=server.config.api_key)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def test_the_agent_clicks_and_extracts_a_typed_output(
    agent_server: Callable[..., ServerThread],
    client_of: Callable[[ServerThread], BrowserUse],
    pages: PageServer,
) -> None:
    with ScriptedLLM(shop_script(pages)) as llm:
        server = agent_server(llm)
        client = client_of(server)
        price = client.sessions.run(
            "Find the price of the blue kettle in the test shop",
            output_schema=Price,
            poll_interval=0.2,
            timeout=120,
        )
    assert price == Price(product="Blue kettle", amount=42.5, currency="EUR")
    # The model saw the real page: the price only appeared after the click on it.
    assert "Price: 42.50 EUR" not in page_text(llm.requests[1])
    assert "Price: 42.50 EUR" in page_text(llm.requests[2])
    assert "/shop" in pages.requests
    (session,) = client.sessions.list()
    assert session.status == SessionStatus.STOPPED
    assert [step["actions"][0] for step in session.steps or []][:2] == [
        {"navigate": {"url": pages.url + "/shop", "new_tab": False}},
        {"click": {"index": session.steps[1]["actions"][0]["click"]["index"]}},  # type: ignore[index]
    ]
    # Its browser is gone with it: nothing billed any more, nothing running.
    assert server.manager.active() == []
    # Nor anything the agent library writes: its folders went with the session.
    leftovers = [
        path.name
        for path in Path(tempfile.gettempdir()).iterdir()
        if path.name.startswith(("browser_use_agent_", "browser-use-", "bu-cdp-agent-"))
    ]
    assert leftovers == []
    messages = client.sessions.messages(session.id or "")
    assert [m.model_extra["type"] for m in messages] == ["task", "step", "step", "step", "result"]  # type: ignore[index]


def test_the_hosted_face_runs_the_same_agent(
    agent_server: Callable[..., ServerThread], pages: PageServer
) -> None:
    """Sessions in the hosted dialect: camelCase words, the same runner and browser."""
    with ScriptedLLM(shop_script(pages)) as llm:
        server = agent_server(llm)
        hosted = server.base_url.removesuffix("/api/v3") + "/hosted/api/v3"
        with BrowserUse(base_url=hosted, api_key=server.config.api_key, dialect="hosted") as client:
            price = client.sessions.run(
                "Find the price of the blue kettle in the test shop",
                output_schema=Price,
                poll_interval=0.2,
                timeout=120,
            )
            (session,) = client.sessions.list()
    assert price == Price(product="Blue kettle", amount=42.5, currency="EUR")
    assert session.status == SessionStatus.STOPPED
    assert server.manager.active() == []


def test_stream_gives_the_steps_and_keep_alive_takes_a_follow_up_task(
    agent_server: Callable[..., ServerThread],
    client_of: Callable[[ServerThread], BrowserUse],
    pages: PageServer,
) -> None:
    script = [
        *shop_script(pages),
        done(lambda text: {"title": re.findall(r"Blue kettle", text)[0]}),
    ]
    with ScriptedLLM(script) as llm:
        server = agent_server(llm)
        client = client_of(server)
        session = client.sessions.create(
            "Find the price of the blue kettle",
            keep_alive=True,
            output_schema=Price.model_json_schema(),
        )
        assert session.status == SessionStatus.RUNNING
        assert session.live_url and session.live_url.startswith("http://127.0.0.1:")
        assert httpx.get(session.live_url).status_code == 200  # the agent's browser, live
        streamed = list(client.sessions.stream(session.id or "", poll_interval=0.2))
        kinds = [m.model_extra["type"] for m in streamed]  # type: ignore[index]
        assert kinds == ["task", "step", "step", "step", "result"]
        assert streamed[2].model_extra["step"]["actions"][0]["click"]  # type: ignore[index]
        idle = client.sessions.get(session.id or "")
        assert idle.status == SessionStatus.IDLE  # keep_alive: the browser stays for more
        assert Price.model_validate_json(idle.output) == Price(  # type: ignore[arg-type]
            product="Blue kettle", amount=42.5, currency="EUR"
        )
        (browser,) = server.manager.active()

        # A follow-up task runs in the same browser, on the page the first one left.
        follow_up = client.sessions.create(
            "What is the product's name?",
            session_id=session.id,
            output_schema={"type": "object", "properties": {"title": {"type": "string"}}},
        )
        assert follow_up.id == session.id
        assert (
            list(client.sessions.stream(session.id or "", poll_interval=0.2))[-1].model_extra[
                "type"
            ]
            == "result"
        )  # type: ignore[index]
        assert server.manager.active() == [browser]
        assert "Price: 42.50 EUR" in page_text(llm.requests[-1])  # the page as it was left
        assert client.sessions.get(session.id or "").output == '{"title": "Blue kettle"}'

        stopped = client.sessions.stop(session.id or "")
        assert stopped["status"] == SessionStatus.STOPPED
        assert server.manager.active() == []


def test_stop_mid_task_ends_the_agent_and_its_browser(
    agent_server: Callable[..., ServerThread],
    client_of: Callable[[ServerThread], BrowserUse],
    pages: PageServer,
) -> None:
    # The model "thinks" from its second answer on until released: the agent is mid-task.
    with ScriptedLLM(shop_script(pages), hold_from=1) as llm:
        server = agent_server(llm)
        client = client_of(server)
        session = client.sessions.create("Find the price of the blue kettle")
        assert llm.held.wait(60), "the agent never asked the model for its second step"
        stopped = client.sessions.stop(session.id or "")
        assert stopped["status"] == SessionStatus.STOPPED
        # By the time stop answers, the browser is gone and the agent has ended.
        assert server.manager.active() == []
        assert not [t for t in threading.enumerate() if t.name == "bu-cdp-agent"]
        asked = len(llm.requests)
    assert len(llm.requests) == asked  # released, the agent asked nothing more
    after = client.sessions.get(session.id or "")
    assert after.status == SessionStatus.STOPPED
    assert [m.model_extra["type"] for m in client.sessions.messages(session.id or "")] == [  # type: ignore[index]
        "task",
        "step",
    ]


def test_the_recording_is_the_real_video_of_the_agents_browser(
    agent_server: Callable[..., ServerThread],
    client_of: Callable[[ServerThread], BrowserUse],
    pages: PageServer,
) -> None:
    with ScriptedLLM(shop_script(pages)) as llm:
        server = agent_server(llm)
        client = client_of(server)
        session = client.sessions.create(
            "Find the price of the blue kettle",
            enable_recording=True,
            output_schema=Price.model_json_schema(),
        )
        list(client.sessions.stream(session.id or "", poll_interval=0.2))
    recording = client.sessions.recording(session.id or "")
    assert recording.recording_url
    video = httpx.get(recording.recording_url)
    assert video.status_code == 200
    with av.open(io.BytesIO(video.content)) as container:
        frames = list(container.decode(container.streams.video[0]))
    assert frames, "the recording has no pictures"


def test_workspace_files_are_offered_to_the_agent(
    agent_server: Callable[..., ServerThread],
    client_of: Callable[[ServerThread], BrowserUse],
    tmp_path: Path,
) -> None:
    with ScriptedLLM([done_text("read it")]) as llm:
        server = agent_server(llm)
        client = client_of(server)
        workspace = client.workspaces.create("inputs")
        upload = tmp_path / "orders.csv"
        upload.write_text("id,amount\n1,3\n")
        client.workspaces.upload(workspace.id or "", upload)
        result = client.sessions.run(
            "Sum the orders", workspace_id=workspace.id, poll_interval=0.2, timeout=120
        )
    assert result == "read it"
    assert "orders.csv" in json.dumps(llm.requests[0]["messages"])


def test_the_agent_task_recipe_runs_offline_with_a_configured_llm(
    agent_server: Callable[..., ServerThread], tmp_path: Path
) -> None:
    def read_product(text: str) -> dict[str, Any]:
        found = re.search(r"(Kettle)\s+([\d.]+)", text)
        assert found, f"no product in the agent's view:\n{text[-2000:]}"
        return {"product": found.group(1), "price": float(found.group(2))}

    with ScriptedLLM([done(read_product)]) as llm:
        server = agent_server(llm)
        environ = {
            **os.environ,
            "BU_CDP_BASE_URL": server.base_url,
            "BROWSER_USE_API_KEY": server.config.api_key,
        }
        done_run = subprocess.run(
            [sys.executable, str(RECIPES / "agent_task.py")],
            cwd=tmp_path,
            env=environ,
            capture_output=True,
            text=True,
            timeout=180,
        )
    assert done_run.returncode == 0, done_run.stdout + done_run.stderr
    assert done_run.stdout.strip() == "Kettle: 42.0"
