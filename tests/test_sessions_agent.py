"""Agent sessions end to end: a real browser-use agent drives a real browser of the server.

The only stand-in is the language model (no local part can produce its answers): a scripted
OpenAI-compatible server (tests/support/scripted_llm.py) answers the agent's chat-completion
requests. The agent, its browser on the local server, and the page it reads are all real.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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
    navigate,
    page_text,
)

pytest.importorskip("browser_use", reason="the agent extra (bu-cdp[agent]) is in the dev extra")


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
    messages = client.sessions.messages(session.id or "")
    assert [m.model_extra["type"] for m in messages] == ["task", "step", "step", "step", "result"]  # type: ignore[index]
