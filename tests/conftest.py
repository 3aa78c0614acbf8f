from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bu_cdp.embedded import stop_embedded_server
from bu_cdp.server.config import ServerConfig
from bu_cdp.server.thread import ServerThread
from tests.support.local_api import configure_environment
from tests.support.pages import PageServer
from tests.support.processes import live_chromiums

# The suite is offline: never let a developer's key send it to the hosted API.
# Nor its agent sessions to a developer's own LLM (the tests script theirs).
for _name in (
    "BROWSER_USE_API_KEY",
    "BU_CDP_BASE_URL",
    "BU_CDP_AGENT_BASE_URL",
    "BU_CDP_AGENT_MODEL",
    "BU_CDP_AGENT_API_KEY",
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "GOOGLE_API_KEY",
):
    os.environ.pop(_name, None)

# Every temporary file of this run, browsers' work folders included, lives under one folder
# of its own (subprocesses inherit TMPDIR). So the leak checks below see only this run's
# Chromium and folders, even with other test runs on the machine.
SESSION_TMP = Path(tempfile.mkdtemp(prefix="bu-cdp-tests-"))


@atexit.register
def _no_empty_session_folder() -> None:
    """A run that selects no test never reaches the session fixture below: no folder stays."""
    with contextlib.suppress(OSError):
        SESSION_TMP.rmdir()


os.environ["TMPDIR"] = str(SESSION_TMP)
tempfile.tempdir = str(SESSION_TMP)
# Servers without a data_dir of their own (the shared one, the embedded default) keep their
# profiles, workspaces and ledger here, never in the developer's own data folder.
os.environ["BU_CDP_HOME"] = str(SESSION_TMP / "bu-cdp-home")
# The ledger of created browsers (bu_cdp.ledger) goes there too, not into the user's home.
os.environ["BU_CDP_LEDGER"] = str(SESSION_TMP / "browsers.jsonl")


# What the suite keeps in SESSION_TMP on purpose while it runs, removed at its end: pytest's
# tmp_path folders, and the data and ledger of the servers that take theirs from BU_CDP_HOME.
KEPT_BY_THE_SUITE = ("pytest-of-*", "bu-cdp-home", "browsers.jsonl", "browsers.jsonl.lock")


@pytest.fixture(scope="session", autouse=True)
def nothing_left_behind() -> Iterator[None]:
    yield
    stop_embedded_server()  # as at exit: its warm browsers are not a leak, what it leaves is
    left = live_chromiums(str(SESSION_TMP))
    workdirs = sorted(p.name for p in SESSION_TMP.glob("bu-cdp-browser-*"))
    for pattern in KEPT_BY_THE_SUITE:
        for kept in SESSION_TMP.glob(pattern):
            if kept.is_dir():
                shutil.rmtree(kept)
            else:
                kept.unlink()
    # Playwright's driver removes a connection's artifacts folder asynchronously once the
    # browser disconnects, and a driver stopped at that moment leaves it (Playwright's race,
    # seen once in a few full runs; not bu-cdp's). An empty one goes; one with files in it
    # stays a leftover.
    for artifacts in SESSION_TMP.glob("playwright-artifacts-*"):
        with contextlib.suppress(OSError):
            artifacts.rmdir()
    # Anything else is a leftover: it stays, for .ci/run's check to name (an empty folder
    # goes).
    with contextlib.suppress(OSError):
        SESSION_TMP.rmdir()
    assert not left, f"Chromium processes left running by the suite: {left}"
    assert not workdirs, f"browser work folders left behind by the suite: {workdirs}"


@pytest.fixture(scope="session")
def pages() -> Iterator[PageServer]:
    with PageServer() as server:
        yield server


@pytest.fixture(scope="session")
def server() -> Iterator[ServerThread]:
    """The real local server on a free port, shared by the tests that only need browsers."""
    config = ServerConfig(api_key=secrets.token_urlsafe(16), port=0)
    with ServerThread(config) as running:
        yield running


@pytest.fixture
def make_server() -> Iterator[Callable[..., ServerThread]]:
    """Start a server with its own settings (``make_server(max_browsers=1)``); stopped after."""
    started: list[ServerThread] = []

    def make(**settings: Any) -> ServerThread:
        config = ServerConfig(api_key=secrets.token_urlsafe(16), port=0, **settings)
        running = ServerThread(config).start()
        started.append(running)
        return running

    yield make
    for running in started:
        running.stop()


@pytest.fixture
def api(server: ServerThread) -> dict[str, str]:
    """Keyword arguments that point a client or remote_browser() at the shared server."""
    return {"base_url": server.base_url, "api_key": server.config.api_key}


@pytest.fixture(scope="module")
def closed_port() -> Iterator[int]:
    """A port where nothing listens (bound, never listening, so nobody else takes it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def on_server(server: ServerThread, monkeypatch: pytest.MonkeyPatch) -> ServerThread:
    """The shared server configured through the environment, as a user's would be."""
    configure_environment(server, monkeypatch)
    return server


@pytest.fixture
def ledger_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ledger of created browsers (bu_cdp.ledger) of this test's own."""
    path = tmp_path / "browsers.jsonl"
    monkeypatch.setenv("BU_CDP_LEDGER", str(path))
    return path
