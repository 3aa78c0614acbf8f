"""The official Python SDK (PyPI ``browser-use-sdk``, ``browser_use_sdk.v3``) against
``bu-cdp serve``'s hosted face, end to end: a real server process, real Chromium, the SDK's
own requests unchanged. Nothing is faked on either side."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from browser_use_sdk.v3 import BrowserUse, BrowserUseError
from playwright.sync_api import sync_playwright

from tests.support.pages import PageServer
from tests.support.processes import MARKER, live_chromiums
from tests.support.serving import LOG_NAME, ServedProcess, serve_process


@pytest.fixture(scope="module")
def server_tmp() -> Iterator[Path]:
    """The server's TMPDIR: short, as Chromium puts a unix socket in it (108 bytes at most)."""
    tmp = Path(tempfile.mkdtemp(prefix="sdk-"))
    yield tmp
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def served(server_tmp: Path) -> Iterator[ServedProcess]:
    with serve_process("--data-dir", str(server_tmp / "data"), tmpdir=server_tmp) as running:
        yield running
    said = (server_tmp / LOG_NAME).read_text()
    assert f"serving the hosted dialect (official SDK) at {running.url}/hosted/api/v3" in said


@pytest.fixture
def sdk(served: ServedProcess) -> Iterator[BrowserUse]:
    with BrowserUse(api_key=served.api_key, base_url=served.url + "/hosted/api/v3") as client:
        yield client


def test_a_browser_created_driven_listed_and_stopped_by_the_sdk(
    sdk: BrowserUse, pages: PageServer, server_tmp: Path
) -> None:
    browser = sdk.browsers.create(browser_screen_width=1024, browser_screen_height=700, timeout=5)
    assert browser.status.value == "active" and browser.cdp_url
    try:
        with sync_playwright() as pw:
            remote = pw.chromium.connect_over_cdp(browser.cdp_url)
            page = remote.contexts[0].pages[0]
            page.goto(pages.url + "/size")
            assert page.title() == "1024x700"
            remote.close()
        assert sdk.browsers.get(browser.id).status.value == "active"
        assert live_chromiums(f"{server_tmp}/{MARKER}")
        active = sdk.browsers.list(filter_by="active", page_size=100)
        assert browser.id in [item.id for item in active.items]
    finally:
        stopped = sdk.browsers.stop(browser.id)  # PATCH {"action": "stop"}
    assert stopped.status.value == "stopped" and stopped.finished_at is not None
    assert sdk.browsers.get(browser.id).status.value == "stopped"
    assert not live_chromiums(f"{server_tmp}/{MARKER}")
    listed = sdk.browsers.list(filter_by="stopped", page_size=100)
    assert browser.id in [item.id for item in listed.items]
    assert sdk.browsers.downloads(browser.id).files == []


def test_profiles_through_the_sdk(sdk: BrowserUse) -> None:
    made = sdk.profiles.create(name="sdk shop")
    assert made.name == "sdk shop" and made.created_at
    assert sdk.profiles.get(made.id).name == "sdk shop"
    assert made.id in [p.id for p in sdk.profiles.list(query="sdk shop").items]
    assert sdk.profiles.update(made.id, name="sdk shop 2").name == "sdk shop 2"
    unnamed = sdk.profiles.create()
    assert unnamed.name is None
    sdk.profiles.delete(made.id)
    sdk.profiles.delete(unnamed.id)
    with pytest.raises(BrowserUseError) as gone:
        sdk.profiles.get(made.id)
    assert gone.value.status_code == 404


def test_a_browser_on_a_profile_made_by_the_sdk(sdk: BrowserUse) -> None:
    profile = sdk.profiles.create(name="for a browser")
    browser = sdk.browsers.create(profile_id=str(profile.id))
    sdk.browsers.stop(browser.id)
    sdk.profiles.delete(profile.id)


def test_workspaces_files_and_presigned_uploads_through_the_sdk(
    sdk: BrowserUse, tmp_path: Path
) -> None:
    workspace = sdk.workspaces.create(name="sdk reports")
    assert workspace.name == "sdk reports"
    assert sdk.workspaces.get(workspace.id).name == "sdk reports"
    assert workspace.id in [w.id for w in sdk.workspaces.list(page_size=100).items]
    assert sdk.workspaces.update(workspace.id, name="renamed").name == "renamed"

    first, second = tmp_path / "q3.csv", tmp_path / "notes.txt"
    first.write_text("a,b\n1,2\n")
    second.write_bytes(b"x" * 3000)
    paths = sdk.workspaces.upload(workspace.id, first, second, prefix="data/")
    assert paths == ["data/q3.csv", "data/notes.txt"]

    listed = sdk.workspaces.files(workspace.id)
    assert sorted(f.path for f in listed.files) == ["data/notes.txt", "data/q3.csv"]
    assert listed.folders == ["data"]
    shallow = sdk.workspaces.files(workspace.id, prefix="data/", shallow=True)
    assert {f.path: f.size for f in shallow.files} == {"data/notes.txt": 3000, "data/q3.csv": 8}
    page = sdk.workspaces.files(workspace.id, limit=1)
    assert page.has_more and page.next_cursor
    rest = sdk.workspaces.files(workspace.id, limit=1, cursor=page.next_cursor)
    assert [page.files[0].path, rest.files[0].path] == ["data/notes.txt", "data/q3.csv"]
    assert not rest.has_more

    back = sdk.workspaces.download(workspace.id, "data/q3.csv", to=tmp_path / "back.csv")
    assert back.read_text() == "a,b\n1,2\n"  # through its presigned url (includeUrls)
    assert sdk.workspaces.size(workspace.id) == {"bytes": 3008}
    sdk.workspaces.delete_file(workspace.id, path="data/notes.txt")
    assert [f.path for f in sdk.workspaces.files(workspace.id).files] == ["data/q3.csv"]
    sdk.workspaces.delete(workspace.id)
    with pytest.raises(BrowserUseError) as gone:
        sdk.workspaces.get(workspace.id)
    assert gone.value.status_code == 404


def test_billing_and_sessions_through_the_sdk(sdk: BrowserUse, served: ServedProcess) -> None:
    account = sdk.billing.account()
    assert account.plan_info.plan_name == "bu-cdp local server"
    assert account.total_credits_balance_usd <= 0  # no credit given; browsers have run
    sessions = sdk.sessions.list()
    assert sessions.sessions == [] and sessions.total == 0
    # Creating one answers what the seed face answers: no agent runner here.
    with pytest.raises(BrowserUseError) as refused:
        sdk.sessions.create("find the price")
    assert refused.value.status_code == 501
    assert "agent runner" in refused.value.message
    seed = httpx.get(served.api_url + "/sessions", headers=served.headers).json()
    assert seed == []
