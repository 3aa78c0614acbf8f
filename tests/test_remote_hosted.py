"""Our own client in the hosted dialect, end to end: ``remote_browser()`` against the local
server's hosted face (the hosted document's words: camelCase create, 201, stop by ``PATCH``),
real Chromium, a real upstream proxy for the country code, and the browser stopped after."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bu_cdp import BrowserUse, RemoteBrowser, _exits, remote_browser
from bu_cdp.cli import main as cli
from bu_cdp.ledger import Ledger
from bu_cdp.server.api.routes.hosted import PREFIX as HOSTED_PREFIX
from bu_cdp.server.config import ServerConfig
from bu_cdp.server.thread import ServerThread
from tests.support.openapi_check import Recorder
from tests.support.pages import PageServer
from tests.support.proxy import AuthProxy
from tests.test_remote_ledger import _dead_owner

USER, PASSWORD = "hosted-user", secrets.token_urlsafe(12)


@pytest.fixture(scope="module")
def upstream() -> Iterator[AuthProxy]:
    with AuthProxy(USER, PASSWORD) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def hosted(upstream: AuthProxy) -> Iterator[dict[str, str]]:
    """A server whose ``de`` browsers go through the upstream proxy; its hosted face."""
    config = ServerConfig(api_key=secrets.token_urlsafe(16), port=0, proxies={"de": upstream.url()})
    with ServerThread(config) as running:
        root = str(httpx.URL(running.base_url).copy_with(path=""))
        yield {"base_url": root + HOSTED_PREFIX, "api_key": config.api_key}


def _status(hosted: dict[str, str], browser_id: str) -> str:
    answer = httpx.get(
        f"{hosted['base_url']}/browsers/{browser_id}",
        headers={"X-Browser-Use-API-Key": hosted["api_key"]},
    )
    answer.raise_for_status()
    return str(answer.json()["status"])


def test_a_hosted_browser_with_every_option_is_made_driven_and_stopped_by_patch(
    hosted: dict[str, str], upstream: AuthProxy, pages: PageServer
) -> None:
    recorder = Recorder()
    with BrowserUse(**hosted, dialect="hosted", transport=recorder) as client:
        with RemoteBrowser(
            client=client,
            profile="hosted-shopper",
            create_profile=True,
            proxy_country_code="DE",
            screen=(800, 600),
            timeout=5,
            enable_recording=True,
        ) as rb:
            rb.page.goto(pages.url + "/login?user=hosted")
            assert rb.page.title() == "Logged in"
            assert rb.page.evaluate("[innerWidth, innerHeight]") == [800, 600]
            browser_id = rb.id
            assert browser_id is not None
        profile = client.profiles.list(query="hosted-shopper")[0]
    assert upstream.saw("GET", pages.url + "/login?user=hosted"), "the country's proxy was used"
    assert rb.status == "stopped" and _status(hosted, browser_id) == "stopped"
    assert rb.recording_url is not None
    video = httpx.get(rb.recording_url, timeout=30)
    assert video.status_code == 200 and video.content.startswith(b"\x1a\x45\xdf\xa3")

    said = [(r.method, r.url.path.removeprefix(httpx.URL(hosted["base_url"]).path))
            for r in recorder.sent]  # fmt: skip
    create = next(r for r in recorder.sent if (r.method, r.url.path.endswith("/browsers"))
                  == ("POST", True))  # fmt: skip
    assert json.loads(create.content) == {
        "profileId": profile.id,
        "proxyCountryCode": "de",
        "browserScreenWidth": 800,
        "browserScreenHeight": 600,
        "timeout": 5,
        "enableRecording": True,
    }
    stops = [r for r in recorder.sent if r.method == "PATCH"]
    assert [(r.url.path.rsplit("/", 1)[1], json.loads(r.content)) for r in stops] == [
        (browser_id, {"action": "stop"})
    ]
    assert not any(path.endswith("/stop") for _, path in said), said


def test_the_dialect_argument_reaches_the_client_remote_browser_makes(
    hosted: dict[str, str], pages: PageServer
) -> None:
    """No client given: remote_browser(dialect="hosted") makes one that speaks hosted (the
    hosted face answers the seed's POST .../stop with 404, so a seed stop would leave it)."""
    with BrowserUse(**hosted, dialect="hosted") as client:
        before = {b.id for b in client.browsers.list()}
        with remote_browser(**hosted, dialect="hosted") as page:
            page.goto(pages.url + "/about")
            [made] = [b for b in client.browsers.list(status="active") if b.id not in before]
        assert client.browsers.get(str(made.id)).status == "stopped"


def test_the_leak_sweep_stops_a_hosted_browser_the_hosted_way(
    hosted: dict[str, str], ledger_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ledger remembers the browser's dialect: the sweep stops it with PATCH, though the
    configured URL alone (a local one) would say seed (whose POST .../stop the face lacks)."""
    monkeypatch.setenv("BU_CDP_BASE_URL", hosted["base_url"])
    monkeypatch.setenv("BROWSER_USE_API_KEY", hosted["api_key"])
    monkeypatch.delenv("BU_CDP_API_DIALECT", raising=False)
    with BrowserUse(**hosted, dialect="hosted") as client:
        leaked = str(client.browsers.create(timeout=5).id)
        dead = _dead_owner()
        Ledger(ledger_file).created(leaked, hosted["base_url"], embedded=False, dialect="hosted")
        lines = [json.loads(line) for line in ledger_file.read_text().splitlines()]
        lines[0].update(pid=dead.pid, pid_started=dead.started)
        ledger_file.write_text(json.dumps(lines[0]) + "\n")

        assert cli(["browsers", "stop", "--leaked"]) == 0
        assert client.browsers.get(leaked).status == "stopped"
    assert Ledger(ledger_file).open_entries() == []


def test_the_exit_sweep_stops_a_hosted_browser_the_hosted_way(
    hosted: dict[str, str], ledger_file: Path
) -> None:
    """What a process leaves at interpreter exit (a failed stop, a block never left) is
    stopped in the dialect it was created with."""
    with BrowserUse(**hosted, dialect="hosted") as client:
        left = str(client.browsers.create(timeout=5).id)
        _exits.created(client.target, left)
        _exits.sweep()
        assert client.browsers.get(left).status == "stopped"
    assert Ledger(ledger_file).open_entries() == []
