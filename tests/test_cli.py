"""The bu-cdp command against the real local server: answers, JSON, errors, open, doctor."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from bu_cdp import BrowserUse
from bu_cdp.cli import main
from bu_cdp.cli.output import Progress, Waiting
from bu_cdp.ledger import Ledger
from bu_cdp.server.chromium.launch import SHORT_TMP_ROOT
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
    assert err == ""  # not a terminal: no progress, not even its last line
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
        (["open", "--create-profile"], "--create-profile needs --profile NAME"),
        (["open", "--profile", ""], "--profile must be a non-empty string"),
        (["browsers", "create", "--screen", "100x100"], "got '100x100': the width 100 is too"),
        (["open", "--screen", "1280x9000"], "got '1280x9000': the height 9000 is too large"),
        (["browsers", "create", "--bogus"], "unrecognized arguments: --bogus"),
        (["profiles", "list", "--base-url", "not-a-url"], "'not-a-url' is not an API address"),
        (["serve", "--port", "99999"], "--port: expected a whole number from 0 to 65535"),
        (["serve", "--port", "-1"], "--port: expected a whole number from 0 to 65535"),
        (["serve", "--credit", "-1"], "--credit: expected a number of 0 or more, got '-1'"),
        (["serve", "--price-per-hour", "nan"], "--price-per-hour: expected a number of 0"),
        (["serve", "--warm", "-1"], "--warm: expected a whole number of 0 or more"),
        (["serve", "--max-queued", "-1"], "--max-queued: expected a whole number of 0 or more"),
        (["serve", "--queue-timeout", "-1"], "--queue-timeout: expected a number of 0 or more"),
        (["serve", "--max-upload-bytes", "0"], "--max-upload-bytes: expected a whole number"),
        (["serve", "--max-browsers", "x"], "--max-browsers: expected a whole number of 1"),
    ],
)
def test_a_usage_mistake_is_status_2_and_names_it(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as usage_error:
        main(argv)
    assert usage_error.value.code == 2
    err = capsys.readouterr().err
    assert says in err
    # The usage of the command the mistake was made in, not the top level's.
    command = " ".join(a for a in argv[:2] if not a.startswith("-"))
    assert err.startswith(f"usage: bu-cdp {command} ")
    assert "Python" not in err and "=True" not in err and "='" not in err


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


def test_serve_refuses_a_proxy_for_a_code_no_browser_can_ask_for(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "serve", "--port", "0", "--proxy", "x=http://proxy.test:8080")
    assert code == 1
    assert err.splitlines() == [
        "bu-cdp: error: --proxy: 'x' is not a country code: 2 to 8 letters, digits, '-' or '_', "
        "starting with 2 letters (for example us)"
    ]


def test_a_message_about_profiles_names_the_flags(
    on_server: ServerThread, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "browsers", "create", "--profile", "cli-nobody")
    assert code == 1
    assert (
        err == "bu-cdp: error: no profile named 'cli-nobody'; add --create-profile to create it\n"
    )


def test_profiles_are_named_or_given_by_id_and_a_name_stays_one_profiles(
    on_server: ServerThread, capsys: pytest.CaptureFixture[str]
) -> None:
    made = json.loads(run(capsys, "profiles", "create", "cli-named", "--json")[1])
    code, out, _ = run(capsys, "profiles", "get", "cli-named", "--json")
    assert code == 0 and json.loads(out)["id"] == made["id"]

    # A second profile of the name would make `--profile cli-named` ambiguous: refused.
    code, _, err = run(capsys, "profiles", "create", "cli-named")
    assert code == 1
    assert f"a profile named 'cli-named' already exists ({made['id']})" in err
    assert run(capsys, "profiles", "create", "cli-other")[0] == 0
    code, _, err = run(capsys, "profiles", "rename", "cli-other", "cli-named")
    assert code == 1 and "already exists" in err
    assert run(capsys, "profiles", "rename", "cli-named", "cli-named")[0] == 0  # its own name

    code, _, err = run(capsys, "profiles", "get", "cli-missing")
    assert code == 1
    assert err == (
        "bu-cdp: error: no profile named 'cli-missing'; `bu-cdp profiles list` shows them\n"
    )
    code, out, _ = run(capsys, "profiles", "delete", "cli-named")
    assert (code, out.strip()) == (0, f"deleted profile {made['id']}")
    assert run(capsys, "profiles", "delete", "cli-other")[0] == 0
    with BrowserUse() as client:
        assert not [p for p in client.profiles.list() if p.name in ("cli-named", "cli-other")]


def test_upload_checks_every_file_before_sending_any(
    on_server: ServerThread, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    workspace = json.loads(run(capsys, "workspaces", "create", "cli-checked", "--json")[1])
    ok = tmp_path / "ok.csv"
    ok.write_text("a,b\n")
    folder = tmp_path / "somedir"
    folder.mkdir()
    for files, says in [
        ([folder], f"{folder} is a folder: give the files in it ({folder}/*)"),
        ([ok, tmp_path / "missing.txt"], f"{tmp_path / 'missing.txt'}: no such file"),
    ]:
        with pytest.raises(SystemExit) as usage_error:
            main(["workspaces", "upload", workspace["id"], *map(str, files)])
        assert usage_error.value.code == 2
        err = capsys.readouterr().err
        assert f"{says} (nothing was uploaded)" in err
        assert err.startswith("usage: bu-cdp workspaces upload")
    with BrowserUse() as client:
        assert client.workspaces.files(workspace["id"]) == []  # not even ok.csv
        client.workspaces.delete(workspace["id"])


def test_a_reader_that_goes_away_is_no_error(on_server: ServerThread) -> None:
    """`bu-cdp billing usage | head -1`, with the reader gone before anything is written."""
    reader, writer = os.pipe()
    os.close(reader)  # every write to the pipe now fails with EPIPE
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bu_cdp.cli", "billing", "usage"],
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(writer)
    assert done.stderr == ""
    assert done.returncode == 141


def test_a_base_url_without_the_api_path_says_to_add_it(
    on_server: ServerThread, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = on_server.base_url.removesuffix("/api/v3")
    monkeypatch.setenv("BU_CDP_BASE_URL", root)
    code, _, err = run(capsys, "profiles", "list")
    assert code == 1
    assert err == (
        f"bu-cdp: error: {root} answers 404 Not Found: the v3 API is at an address ending in "
        f"/api/v3; set BU_CDP_BASE_URL to {root}/api/v3\n"
    )
    code, _, err = run(capsys, "profiles", "list", "--base-url", root + "/")
    assert code == 1 and f"set --base-url to {root}/api/v3" in err

    code, out, _ = run(capsys, "doctor", "--json")
    assert code == 1
    api = next(c for c in json.loads(out)["checks"] if c["name"] == "api")
    assert api["fix"] == f"set BU_CDP_BASE_URL to {root}/api/v3"

    monkeypatch.setenv("BU_CDP_BASE_URL", "not-a-url")
    code, _, err = run(capsys, "profiles", "list")
    assert code == 1
    assert err.startswith("bu-cdp: error: BU_CDP_BASE_URL='not-a-url' is not an API address: ")
    code, out, _ = run(capsys, "doctor")
    assert code == 1 and "[FAIL] api: BU_CDP_BASE_URL='not-a-url' is not an API address" in out


def test_the_screen_range_is_the_servers(on_server: ServerThread) -> None:
    """What the client's check refuses, the server refuses with 422, and the other way round."""
    from bu_cdp.errors import UnprocessableEntityError
    from bu_cdp.options import check_screen

    with pytest.raises(ValueError) as why:
        check_screen((0, 600))
    assert str(why.value) == (
        "screen must be (width, height) with a width of 320 to 3840 and a height of 240 to "
        "2160 pixels; got (0, 600): the width 0 is too small"
    )
    with BrowserUse() as client:
        for screen in [(319, 600), (100, 100), (800, 239), (3841, 600), (800, 2161)]:
            with pytest.raises(ValueError):
                check_screen(screen)
            with pytest.raises(UnprocessableEntityError):
                client.browsers.create(browserScreenWidth=screen[0], browserScreenHeight=screen[1])
        for screen in [(320, 240), (3840, 2160)]:
            assert check_screen(screen) == screen
            browser = client.browsers.create(
                browserScreenWidth=screen[0], browserScreenHeight=screen[1], timeout=2
            )
            client.browsers.stop(browser.id)


def test_browsers_create_writes_the_ledger_so_a_lost_id_is_found(
    on_server: ServerThread, capsys: pytest.CaptureFixture[str], ledger_file: Path
) -> None:
    # As a user runs it: a command that ends, leaving its browser running.
    done = subprocess.run(
        [sys.executable, "-m", "bu_cdp.cli", "browsers", "create", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    browser_id = json.loads(done.stdout)["id"]
    [entry] = Ledger(ledger_file).open_entries()
    assert entry.id == browser_id and entry.kept

    code, out, _ = run(capsys, "browsers", "stop", "--leaked")
    assert code == 0 and f"kept           {browser_id}" in out
    code, out, _ = run(capsys, "browsers", "stop", "--leaked", "--include-kept")
    assert code == 0 and f"stopped        {browser_id}" in out
    with BrowserUse() as client:
        assert client.browsers.get(browser_id).status == "stopped"
    assert Ledger(ledger_file).open_entries() == []


def test_browsers_stop_by_id_closes_its_ledger_entry(
    on_server: ServerThread, capsys: pytest.CaptureFixture[str], ledger_file: Path
) -> None:
    browser = json.loads(run(capsys, "browsers", "create", "--json")[1])
    assert [e.id for e in Ledger(ledger_file).open_entries()] == [browser["id"]]
    assert run(capsys, "browsers", "stop", browser["id"])[0] == 0
    assert Ledger(ledger_file).open_entries() == []


def test_progress_shows_its_last_line_on_a_terminal_only() -> None:
    screen = Terminal()
    Progress("uploading a.bin", 10, stream=screen).finish(10)
    assert screen.getvalue() == "\r\033[Kuploading a.bin: 10 bytes\n"
    piped = io.StringIO()
    Progress("uploading a.bin", 10, stream=piped).finish(10)
    assert piped.getvalue() == ""


@pytest.mark.parametrize("dialect", ["seed", "hosted"])
def test_browsers_list_shows_the_running_ones(
    on_server: ServerThread,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    dialect: str,
) -> None:
    if dialect == "hosted":  # the server's hosted face, as the hosted API answers GET /browsers
        monkeypatch.setenv(
            "BU_CDP_BASE_URL", on_server.base_url.replace("/api/v3", "/hosted/api/v3")
        )
        monkeypatch.setenv("BU_CDP_API_DIALECT", "hosted")
    with BrowserUse() as client:
        running = client.browsers.create(timeout=3)
        ended = client.browsers.create(timeout=3)
        client.browsers.stop(ended.id)
        try:
            code, out, _ = run(capsys, "browsers", "list")
            assert code == 0 and out.startswith("ID ")
            assert running.id in out and ended.id not in out
            listed = json.loads(run(capsys, "browsers", "list", "--all", "--json")[1])
            statuses = {b["id"]: b["status"] for b in listed}
            assert statuses[running.id] == "active" and statuses[ended.id] == "stopped"
        finally:
            client.browsers.stop(running.id)
    code, out, _ = run(capsys, "browsers", "list")
    assert code == 0 and running.id not in out


def test_browsers_list_without_an_api_says_what_to_set(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BU_CDP_BASE_URL", raising=False)
    monkeypatch.delenv("BROWSER_USE_API_KEY", raising=False)
    code, _, err = run(capsys, "browsers", "list")
    assert code == 1 and "set BU_CDP_BASE_URL" in err and err.count("\n") == 1


def test_doctor_leaves_no_temporary_folder_even_under_a_deep_temp_folder(
    on_server: ServerThread, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under a deep TMPDIR Chromium's own temp folder is a short one in /tmp (its socket's path
    must fit): doctor's trial start removes it too."""
    deep = Path(tempfile.gettempdir()) / ("d" * 60)
    deep.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(deep))
    short_ones = set(SHORT_TMP_ROOT.glob("bu-cdp-tmp-*"))
    try:
        _, out, _ = run(capsys, "doctor")
        assert "[ok  ] chromium starts: headless" in out
        assert set(SHORT_TMP_ROOT.glob("bu-cdp-tmp-*")) == short_ones
        assert list(deep.iterdir()) == []
    finally:
        shutil.rmtree(deep, ignore_errors=True)
