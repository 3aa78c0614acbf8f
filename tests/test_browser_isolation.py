"""One browser's ``cdp_url`` reaches that browser and nothing else: attacks that must fail.

Real Chromium behind the real server. Where the tests run as root (CI does), each Chromium
runs as a uid of its own, so ``file://`` and downloads stop at the browser's own folder by
the operating system's permissions; the tests that need root say so in their skip.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, sync_playwright

from bu_cdp import BrowserUse
from bu_cdp.cli import main
from bu_cdp.server.chromium import isolation
from bu_cdp.server.chromium import launch as chromium
from bu_cdp.server.chromium.priority import can_raise_priority
from bu_cdp.server.thread import ServerThread
from tests.support.local_api import create_browser, key_header
from tests.support.pages import PageServer
from tests.support.processes import children_of, group_of, threads_niceness
from tests.support.proxy import AuthProxy
from tests.support.serving import LOG_NAME, serve_process
from tests.support.waiting import wait_until

needs_root = pytest.mark.skipif(
    not isolation.status().separate_users,
    reason=f"browsers get uids of their own only where the server is root: "
    f"{isolation.status().reason}",
)


def _stop(server: ServerThread, browser_id: str) -> None:
    stop = f"{server.base_url}/browsers/{browser_id}/stop"
    httpx.post(stop, headers=key_header(server), timeout=60).raise_for_status()


@pytest.fixture
def two_browsers(make_server: Callable[..., ServerThread]) -> Iterator[tuple[ServerThread, Any]]:
    """A server with browsers A and B; yields the server and (A's answer, B's answer)."""
    server = make_server()
    answers = [create_browser(server, {}).json() for _ in range(2)]
    try:
        yield server, answers
    finally:
        for answer in answers:
            _stop(server, answer["id"])


def _plant(folder: Path, like: Path) -> tuple[Path, str]:
    """A file holding a fresh secret in ``folder``, owned as ``like`` is (a cookie file)."""
    secret = "secret-" + secrets.token_hex(8)
    path = folder / f"planted-{secrets.token_hex(4)}.txt"
    path.write_text(secret)
    owner = like.stat()
    os.chown(path, owner.st_uid, owner.st_gid)
    path.chmod(0o600)
    return path, secret


def _shows(page: Page, url: str) -> str:
    """What the page shows at ``url``: its text, or '' when Chromium refused to load it."""
    try:
        page.goto(url)
    except PlaywrightError:
        return ""
    return page.content()


@needs_root
def test_a_page_reads_no_file_of_another_browser_nor_of_the_server(
    two_browsers: tuple[ServerThread, Any],
) -> None:
    server, (mine, theirs) = two_browsers
    my_folder = server.manager.get(mine["id"]).workdir
    their_folder = server.manager.get(theirs["id"]).workdir
    my_file, my_secret = _plant(my_folder / "user-data", my_folder)
    their_file, their_secret = _plant(their_folder / "user-data", their_folder)
    data_dir = server.app.state.persistence.store.data_dir
    store_file, store_secret = _plant(data_dir, data_dir)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.connect_over_cdp(mine["cdp_url"])
            page = browser.contexts[0].pages[0]
            # file:// works at all: the browser reads its own folder.
            assert my_secret in _shows(page, my_file.as_uri())
            assert their_secret not in _shows(page, their_file.as_uri())
            assert "user-data" not in _shows(page, their_folder.as_uri())
            assert store_secret not in _shows(page, store_file.as_uri())
            assert "planted" not in _shows(page, data_dir.as_uri())
            browser.close()
    finally:
        store_file.unlink()


@needs_root
def test_a_download_cannot_land_in_another_browsers_folder_nor_the_servers(
    two_browsers: tuple[ServerThread, Any],
) -> None:
    server, (mine, theirs) = two_browsers
    targets = [
        server.manager.get(theirs["id"]).user_data_dir,
        server.app.state.persistence.store.data_dir,
    ]
    with sync_playwright() as pw:
        browser = pw.chromium.connect_over_cdp(mine["cdp_url"])
        page = browser.contexts[0].pages[0]
        cdp = browser.new_browser_cdp_session()
        ended: list[dict[str, Any]] = []
        cdp.on(
            "Browser.downloadProgress",
            lambda event: ended.append(event) if event["state"] != "inProgress" else None,
        )
        for number, target in enumerate(targets):
            name = f"loot-{secrets.token_hex(4)}.bin"
            cdp.send(
                "Browser.setDownloadBehavior",
                {"behavior": "allow", "downloadPath": str(target), "eventsEnabled": True},
            )
            page.set_content(
                f"<a id=get href='data:application/octet-stream,LOOT' download={name}>get</a>"
            )
            page.click("#get")

            # Playwright's sync API delivers events only while one of its calls runs.
            def download_ended() -> bool:
                page.wait_for_timeout(20)
                return len(ended) > number  # noqa: B023

            wait_until(download_ended, 60, "the download to end")
            assert not any(name in path.name for path in target.rglob("*")), ended
        browser.close()


@needs_root
@pytest.mark.skipif(not can_raise_priority(), reason="the server has no CAP_SYS_NICE to pass on")
def test_an_isolated_chromium_raises_its_threads_as_root_s_does_and_its_pages_hold_no_capability(
    make_server: Callable[..., ServerThread], pages: PageServer
) -> None:
    """CAP_SYS_NICE, and only it, goes with a browser's uid: Chromium raises its compositor
    and I/O threads (-8), as a root Chromium does; the renderers, where pages run, hold no
    capability at all (its sandbox's user namespaces)."""
    server = make_server()
    answer = create_browser(server, {}).json()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.connect_over_cdp(answer["cdp_url"])
            browser.contexts[0].pages[0].goto(pages.url + "/")
            pid = server.manager.get(answer["id"]).process.pid
            chromiums = {p.pid: p for p in group_of(pid)}
            assert _capabilities(chromiums[pid].pid, "CapEff") == 1 << _CAP_SYS_NICE
            renderers = [p for p in chromiums.values() if "--type=renderer" in p.command]
            assert renderers
            assert all(_capabilities(p.pid, "CapEff") == 0 for p in renderers)
            assert min(threads_niceness(pid).values()) < 0
            browser.close()
    finally:
        _stop(server, answer["id"])


def _capabilities(pid: int, which: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{which}:"):
            return int(line.split()[1], 16)
    raise AssertionError(f"no {which} for {pid}")


_CAP_SYS_NICE = 23


def test_chromium_inherits_no_socket_and_no_secret_of_the_server(tmp_path: Path) -> None:
    """Against ``bu-cdp serve``: its listening socket and its key stay out of Chromium."""
    key_in_env = "env-key-" + secrets.token_hex(8)
    folder = Path(tempfile.mkdtemp(prefix="inh-", dir="/tmp"))
    try:
        with serve_process(tmpdir=folder, env={"BU_CDP_SERVER_API_KEY": key_in_env}) as served:
            answer = httpx.post(served.api_url + "/browsers", json={}, headers=served.headers)
            answer.raise_for_status()
            port = int(served.url.rsplit(":", 1)[1])
            listening = _listening_socket_inodes(port)
            assert listening, "the server's listening socket was not found"
            processes = [p for p in children_of(served.process.pid) if b"chromium" in p.cmdline]
            assert processes, "no Chromium under the server"
            for process in group_of(processes[0].pgid, environ=True):
                assert key_in_env.encode() not in process.environ
                assert served.api_key.encode() not in process.environ
                held = _socket_inodes(process.pid)
                assert not held & listening, f"Chromium {process.pid} holds the listening socket"
            stop = f"{served.api_url}/browsers/{answer.json()['id']}/stop"
            httpx.post(stop, headers=served.headers, timeout=60).raise_for_status()
    finally:
        subprocess.run(["rm", "-rf", str(folder)], check=False)


def _listening_socket_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def _socket_inodes(pid: int) -> set[str]:
    found = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                found.add(link[8:-1])
    except OSError:
        pass
    return found


def test_chromium_leaves_nothing_in_the_temp_folder(
    make_server: Callable[..., ServerThread],
) -> None:
    """Chromium's own temporary folder (``org.chromium.Chromium.*``) lives and dies with the
    browser's work folder, not in the server's TMPDIR."""
    temp = Path(tempfile.gettempdir())
    before = set(temp.glob("org.chromium.Chromium.*"))
    server = make_server()
    answer = create_browser(server, {}).json()
    workdir = server.manager.get(answer["id"]).workdir
    _stop(server, answer["id"])
    assert set(temp.glob("org.chromium.Chromium.*")) == before
    assert not workdir.exists()
    assert not chromium.tmp_dir_of(workdir).exists()


def test_chromium_dials_no_host_the_page_did_not_ask_for(
    make_server: Callable[..., ServerThread], pages: PageServer
) -> None:
    """Every request of the browser goes through a counting proxy: only the page's host."""
    server = make_server()
    with AuthProxy("counter", "pw") as proxy:
        proxy_body = {"host": "127.0.0.1", "port": proxy.port, "username": "counter"}
        answer = create_browser(server, {"custom_proxy": {**proxy_body, "password": "pw"}})
        answer.raise_for_status()
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.connect_over_cdp(answer.json()["cdp_url"])
                page = browser.contexts[0].pages[0]
                page.goto(pages.url + "/")
                # Chromium's own calls (sign-in check, updater, network time) come within
                # seconds of its start; a second page, later, gives them the time to show.
                time.sleep(5)
                page.goto(pages.url + "/about")
                browser.close()
        finally:
            _stop(server, answer.json()["id"])
        page_host = pages.url.removeprefix("http://")
        hosts = {seen.target.split("/")[2] if "//" in seen.target else seen.target
                 for seen in proxy.seen}  # fmt: skip
        assert hosts == {page_host}, sorted(s.target for s in proxy.seen)


def test_serve_and_doctor_say_what_isolation_there_is(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Whatever this machine allows: ``bu-cdp serve`` says it at start, ``doctor`` reports it."""
    folder = Path(tempfile.mkdtemp(prefix="say-", dir="/tmp"))
    # What the server finds depends on its temp folder (one closed above it rules uids out):
    # asked of a process with the server's TMPDIR.
    probe = "from bu_cdp.server.chromium.isolation import status; print(status().describe())"
    env = {**os.environ, "TMPDIR": str(folder)}
    found = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    try:
        with serve_process(tmpdir=folder, env={"BU_CDP_HOME": str(folder / "home")}):
            assert found.stdout.strip() in (folder / LOG_NAME).read_text()
    finally:
        subprocess.run(["rm", "-rf", str(folder)], check=False)
    assert main(["doctor"]) in (0, 1)  # the other checks are not this test's business
    out = capsys.readouterr().out
    assert f"isolation: {isolation.status().describe()}" in out


def test_isolation_turned_off_runs_chromium_as_the_servers_user_and_serve_warns() -> None:
    """``BU_CDP_ISOLATION=off``: every Chromium runs as the server's own user, and the server
    says so at start as loudly as when the machine rules isolation out."""
    folder = Path(tempfile.mkdtemp(prefix="off-", dir="/tmp"))
    env = {"BU_CDP_HOME": str(folder / "home"), "BU_CDP_ISOLATION": "off"}
    try:
        with serve_process(tmpdir=folder, env=env) as served:
            said = (folder / LOG_NAME).read_text()
            assert "WARNING: browsers are NOT isolated" in said
            assert "(turned off by BU_CDP_ISOLATION=off)" in said
            with BrowserUse(**served.api) as client:
                browser = client.browsers.create()
                try:
                    [chromium] = children_of(served.process.pid, "bu-cdp-browser-")
                    assert os.stat(f"/proc/{chromium.pid}").st_uid == os.getuid()
                finally:
                    client.browsers.stop(browser.id or "")
    finally:
        subprocess.run(["rm", "-rf", str(folder)], check=False)


@pytest.mark.parametrize("where", ["serve", "embedded"])
def test_a_wrong_isolation_setting_is_an_error_that_names_it(where: str, tmp_path: Path) -> None:
    program = {
        "serve": ["-m", "bu_cdp.cli", "serve", "--port", "0"],
        "embedded": ["-c", "from bu_cdp import BrowserUse; BrowserUse()"],
    }[where]
    env = {**os.environ, "BU_CDP_ISOLATION": "maybe", "TMPDIR": str(tmp_path)}
    env.pop("BROWSER_USE_API_KEY", None)
    env.pop("BU_CDP_BASE_URL", None)
    done = subprocess.run(
        [sys.executable, *program], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "BU_CDP_ISOLATION must be on or off, not 'maybe'" in done.stderr
    assert "Traceback" not in done.stderr or where == "embedded"
