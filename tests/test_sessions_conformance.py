"""The Sessions paths of the spec, property-based, against a server whose agent has an LLM.

``test_conformance.py`` runs the whole spec against a server without an LLM (creating a
session answers 501 there); this runs the Sessions operations with one, so every create
starts a real browser and a real browser-use agent. The LLM is the only stand-in: a scripted
OpenAI-compatible server (tests/support/scripted_llm.py) whose answer ends each task at once.
No answer may be a 5xx, every body must match the spec, every status be a known one.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import httpx
import pytest
import schemathesis
from schemathesis import Case

from bu_cdp.server.config import ServerConfig
from bu_cdp.server.thread import ServerThread
from tests.support.conformance import answer_checks, call_and_check, run_config
from tests.support.scripted_llm import ScriptedLLM, done_text
from tests.test_conformance import SERVER_ERRORS

SPEC = Path(str(resources.files("bu_cdp").joinpath("openapi.yaml")))

CONFIG = run_config(seed=20240502, max_examples=5, slow_create="createSession", slow_examples=4)

schema = schemathesis.openapi.from_path(SPEC, config=CONFIG).include(tag="Sessions")


CHECKS = answer_checks(SERVER_ERRORS, agent_create=None)  # a model is configured: no 501


@pytest.fixture(scope="module")
def agent_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    with ScriptedLLM([done_text("done")]) as llm:
        config = ServerConfig(
            api_key=secrets.token_urlsafe(16),
            port=0,
            data_dir=tmp_path_factory.mktemp("sessions-conformance-data"),
            agent_base_url=llm.base_url,
            agent_model=llm.model,
            max_browsers=2,
            queue_timeout=1.0,
        )
        with ServerThread(config) as running:
            yield running


@schema.parametrize()
def test_the_sessions_paths_conform_with_an_agent(case: Case, agent_server: ServerThread) -> None:
    headers = {"X-Browser-Use-API-Key": agent_server.config.api_key}

    def stop(created: httpx.Response) -> None:
        stop = f"{agent_server.base_url}/sessions/{created.json()['id']}/stop"
        httpx.post(stop, headers=headers, timeout=60).raise_for_status()

    base = agent_server.base_url
    call_and_check(case, base, headers, CHECKS, creates="createSession", undo=stop)
