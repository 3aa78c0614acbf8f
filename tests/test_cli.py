"""The bu-cdp command against the real local server: answers, JSON, errors, open, doctor."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from bu_cdp import BrowserUse
from bu_cdp.cli import main
from bu_cdp.cli.output import Progress, Waiting
from bu_cdp.ledger import Ledger
from bu_cdp.server.thread import ServerThread
from tests.support.pages import PageServer
from tests.support.waiting import wait_until


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_profiles_and_workspaces_round_trip(
    on_server: ServerThread, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = run(capsys, "profiles", "create", "cli-shop", "--json")
    assert code == 0
    profile = json.loads(out)
    assert profile["name"] == "cli-shop"
    code, out, _ = run(capsys, "profiles", "list", "--query", "CLI-SH")
    assert code == 0 and "cli-shop" in out and out.startswith("ID")
    assert run(capsys, "profiles", "rename", profile["id"], "cli-store")[0] == 0
    code, out, _ = run(capsys, "profiles", "delete", profile["id"])
    assert (code, out.strip()) == (0, f"deleted profile {profile['id']}")

    workspace = json.loads(run(capsys, "workspaces", "create", "cli-docs", "--json")[1])
    data = tmp_path / "data.bin"
    data.write_bytes(os.urandom(200_000))
    code, out, err = run(
        capsys, "workspaces", "upload", workspace["id"], str(data), "--prefix", "in/"
    )
    assert code == 0 and "uploaded 1 file(s)" in out
    assert "uploading data.bin: 195.3 KiB" in err  # progress, on stderr
    files = json.loads(run(capsys, "workspaces", "files", workspace["id"], "--json")[1])
    assert [(f["path"], f["size"]) for f in files] == [("in/data.bin", 200_000)]
    assert run(capsys, "workspaces", "size", workspace["id"])[1].strip() == "200000 bytes"
    code, out, _ = run(
        capsys, "workspaces", "download", workspace["id"], "in/data.bin", f"{tmp_path}/back/"
    )
    assert code == 0
    assert (tmp_path / "back" / "data.bin").read_bytes() == data.read_bytes()
    assert run(capsys, "workspaces", "delete", workspace["id"])[0] == 0


def test_browsers_create_get_stop_and_billing(
    on_server: ServerThread, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "browsers", "create", "--screen", "800x600", "--timeout", "3", "--json"
    )
    assert code == 0 and err == ""  # not a terminal: no wait drawn, only the answer
    browser = json.loads(out)
    assert browser["status"] == "active"
    assert (browser["browserScreenWidth"], browser["browserScreenHeight"]) == (800, 600)
    code, out, _ = run(capsys, "browsers", "get", browser["id"])
    assert code == 0 and "status" in out and "active" in out
    code, out, _ = run(capsys, "browsers", "stop", browser["id"], "--json")
    assert json.loads(out)["status"] == "stopped"

    usage = json.loads(run(capsys, "billing", "usage", "--json")[1])
    assert usage["browsers"] >= 1
    assert "balance" in run(capsys, "billing", "balance")[1]


def test_errors_are_one_line_and_a_non_zero_status(
    on_server: ServerThread, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run(capsys, "browsers", "get", "no-such-browser")
    assert code == 1 and out == ""
    expected = "404: GET /browsers/no-such-browser: Browser 'no-such-browser' not found"
    assert err == f"bu-cdp: error: {expected}\n"

    monkeypatch.setenv("BROWSER_USE_API_KEY", "wrong")
    code, _, err = run(capsys, "profiles", "list")
    assert code == 1 and err.startswith("bu-cdp: error: 401") and err.count("\n") == 1
    assert "wrong" not in err


def test_serve_on_a_taken_port_says_so_and_never_that_it_serves(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = run(capsys, "serve", "--port", str(port), "--api-key", "k")
    assert code == 1
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in err
    assert "serving" not in err


def test_browsers_create_refuses_a_browser_that_would_die_with_the_command(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BU_CDP_BASE_URL", raising=False)
    monkeypatch.delenv("BROWSER_USE_API_KEY", raising=False)
    code, _, err = run(capsys, "browsers", "create")
    assert code == 1 and "use `bu-cdp open`" in err


def test_doctor_finds_chromium_and_checks_the_key(
    on_server: ServerThread, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(capsys, "doctor")
    assert code == 0, out
    assert "[ok  ] chromium: Chromium" in out
    assert "[ok  ] chromium starts: headless" in out
    assert "reachable, key accepted" in out

    monkeypatch.setenv("BROWSER_USE_API_KEY", "wrong")
    code, out, _ = run(capsys, "doctor", "--json")
    assert code == 1
    api = next(c for c in json.loads(out)["checks"] if c["name"] == "api")
    assert not api["ok"] and "refused" in api["found"] and "BROWSER_USE_API_KEY" in api["fix"]


def _open(ledger: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bu_cdp.cli", "open", "--json", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "BU_CDP_LEDGER": str(ledger)},
    )


def _read_browser(child: subprocess.Popen[str]) -> tuple[dict[str, str], str]:
    """The JSON document `open` prints first, and the text it was printed as."""
    assert child.stdout is not None
    lines: list[str] = []
    while not lines or lines[-1] != "}\n":
        line = child.stdout.readline()
        if line == "":  # the command ended before it printed the browser: say why
            child.kill()
            _, err = child.communicate(timeout=30)
            raise AssertionError(f"bu-cdp open ended (status {child.returncode}): {err}")
        lines.append(line)
    text = "".join(lines)
    return json.loads(text), text


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_open_keeps_a_usable_browser_until_a_signal(
    on_server: ServerThread, pages: PageServer, tmp_path: Path, signum: int
) -> None:
    ledger = tmp_path / "browsers.jsonl"
    child = _open(ledger, "--screen", "640x480")
    try:
        browser, _ = _read_browser(child)
        # Written down while it runs, so `browsers stop --leaked` finds it if this is killed.
        [entry] = Ledger(ledger).open_entries()
        assert (entry.id, entry.owner.pid) == (browser["id"], child.pid)
        with sync_playwright() as pw:
            remote = pw.chromium.connect_over_cdp(browser["cdp_url"])
            page = remote.contexts[0].pages[0]
            page.goto(pages.url + "/size")
            assert page.title() == "640x480"
            remote.close()
        child.send_signal(signum)
        if signum == signal.SIGHUP:  # an impatient user: more signals during the stop
            for _ in range(3):
                time.sleep(0.03)
                if child.poll() is None:
                    child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=60)
    finally:
        child.kill()
    if signum == signal.SIGTERM:
        assert child.returncode == 0, err
    assert f"stopped browser {browser['id']}" in err
    with BrowserUse() as client:
        assert client.browsers.get(browser["id"]).status == "stopped"
    assert Ledger(ledger).open_entries() == []


def test_open_says_when_its_browser_ends_by_itself(on_server: ServerThread, tmp_path: Path) -> None:
    child = _open(tmp_path / "browsers.jsonl", "--timeout", "5")
    try:
        browser, printed = _read_browser(child)
        with BrowserUse() as client:
            client.browsers.stop(browser["id"])  # stopped elsewhere
        out, err = child.communicate(timeout=60)
    finally:
        child.kill()
    assert child.returncode == 1, err
    assert out == ""  # the browser printed at the start was the one JSON document
    assert json.loads(printed)["id"] == browser["id"]
    assert f"browser {browser['id']} ended by itself: stopped" in err
    assert Ledger(tmp_path / "browsers.jsonl").open_entries() == []


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["browsers", "stop"], "give a browser ID, or --leaked"),
        (["browsers", "stop", "b1", "--leaked"], "not both"),
        (["browsers", "stop", "b1", "--dry-run"], "go with --leaked"),
        (["browsers", "create", "--screen", "0x600"], "expected WIDTHxHEIGHT"),
        (["open", "--screen=-800x600"], "expected WIDTHxHEIGHT"),
        (["browsers", "create", "--timeout", "0"], "expected whole minutes from 1 to 240"),
        (["open", "--timeout", "241"], "expected whole minutes from 1 to 240"),
        (["open", "--create-profile"], "create_profile=True needs profile"),
    ],
)
def test_a_usage_mistake_is_status_2_and_names_it(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as usage_error:
        main(argv)
    assert usage_error.value.code == 2
    err = capsys.readouterr().err
    assert says in err and "usage: bu-cdp" in err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_download_progress_is_drawn_without_a_known_total() -> None:
    screen = Terminal()
    progress = Progress("downloading big.bin", None, stream=screen)
    for done in range(0, 3 * Progress.STEP_BYTES, 64 * 1024):
        progress.update(done)
    drawn = screen.getvalue()
    assert "\rdownloading big.bin  0 bytes" in drawn
    assert "\rdownloading big.bin  512.0 KiB" in drawn  # redrawn as the bytes come
    assert drawn.count("\r") == 3  # once per step, not once per chunk
    assert "%" not in drawn  # no percentage of an unknown total


def test_a_wait_is_shown_on_a_terminal_and_erased_after() -> None:
    screen = Terminal()
    with Waiting("creating a browser", stream=screen, interval=0.01):
        wait_until(lambda: screen.getvalue().count("\r") >= 3, 10, "the wait to be redrawn")
    drawn = screen.getvalue()
    assert drawn.startswith("\rcreating a browser... 0s")
    assert drawn.endswith("\r\033[K")  # nothing left on the line for the answer
    size = len(drawn)
    time.sleep(0.05)
    assert len(screen.getvalue()) == size  # and nothing drawn after the block

    piped = io.StringIO()
    with Waiting("creating a browser", stream=piped, interval=0.01):
        time.sleep(0.05)
    assert piped.getvalue() == ""  # a pipe or a log gets only the answer
