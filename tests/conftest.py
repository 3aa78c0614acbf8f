from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest

from bu_cdp.server.config import ServerConfig
from bu_cdp.server.thread import ServerThread
from tests.support.pages import PageServer
from tests.support.processes import live_chromiums

# The suite is offline: never let a developer's key send it to the hosted API.
for _name in ("BROWSER_USE_API_KEY", "BU_CDP_BASE_URL"):
    os.environ.pop(_name, None)


@pytest.fixture(scope="session", autouse=True)
def no_chromium_left_behind() -> Iterator[None]:
    before = set(live_chromiums())
    yield
    left = set(live_chromiums()) - before
    assert not left, f"Chromium processes left running by the suite: {sorted(left)}"


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
def api(server: ServerThread) -> dict[str, str]:
    """Keyword arguments that point a client or remote_browser() at the shared server."""
    return {"base_url": server.base_url, "api_key": server.config.api_key}
