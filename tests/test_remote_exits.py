"""Every way out stops the browser: SIGTERM, interpreter exit, and SIGKILL plus the leak command.

Real Chromium through the real local server. The client is a separate Python process pointed
at the test's server through BU_CDP_BASE_URL and BROWSER_USE_API_KEY, so its browsers outlive
it when it is killed, as they would on the hosted API.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bu_cdp import BrowserUse, RemoteBrowser, _exits
from bu_cdp.cli import main as cli
from bu_cdp.ledger import Ledger
from bu_cdp.server.thread import ServerThread
from tests.support.local_api import configure_environment
from tests.support.pages import PageServer

# A program with a remote-browser block, waiting inside it (in Playwright, as a test would).
# Before the block it opens one handle it never closes: interpreter exit must sweep that one.
CHILD = """
import sys
from bu_cdp import RemoteBrowser

never_closed = RemoteBrowser().__enter__()
print(never_closed.id, flush=True)
with RemoteBrowser() as rb:
    rb.page.goto(sys.argv[1])
    print(rb.id, flush=True)
    rb.page.wait_for_timeout(60_000)
"""

# The same, without the handle it never closes: for SIGKILL only the block matters.
CHILD_ONE = """
import sys
from bu_cdp import RemoteBrowser

with RemoteBrowser() as rb:
    rb.page.goto(sys.argv[1])
    print(rb.id, flush=True)
    rb.page.wait_for_timeout(60_000)
"""


@pytest.fixture
def client(api: dict[str, str]) -> Iterator[BrowserUse]:
    with BrowserUse(**api) as c:
        yield c


def _spawn(
    script: str, server: ServerThread, page_url: str, tmpdir: Path | None = None
) -> subprocess.Popen[str]:
    env = dict(
        os.environ,
        BU_CDP_BASE_URL=server.base_url,
        BROWSER_USE_API_KEY=server.config.api_key,
    )
    if tmpdir is not None:
        env["TMPDIR"] = str(tmpdir)
    return subprocess.Popen(
        [sys.executable, "-c", script, page_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _read_id(child: subprocess.Popen[str]) -> str:
    assert child.stdout is not None
    line = child.stdout.readline().strip()
    if not line:
        child.wait(10)
        raise AssertionError(f"the child printed no browser id: {child.stderr.read()}")  # type: ignore[union-attr]
    return line


@pytest.mark.timeout(90)
def test_sigterm_inside_a_block_stops_its_browser_and_exit_sweeps_the_rest(
    server: ServerThread, client: BrowserUse, pages: PageServer, ledger_file: Path
) -> None:
    child = _spawn(CHILD, server, pages.url + "/about")
    never_closed, in_block = _read_id(child), _read_id(child)
    assert client.browsers.get(in_block).status == "active"

    child.send_signal(signal.SIGTERM)
    _, stderr = child.communicate(timeout=60)

    assert child.returncode == 128 + signal.SIGTERM, stderr  # exited, not killed by the signal
    assert client.browsers.get(in_block).status == "stopped"
    assert client.browsers.get(never_closed).status == "stopped"
    assert f"stopping browser {never_closed}, left running at interpreter exit" in stderr
    assert Ledger(ledger_file).open_entries() == []  # both stops were written down


@pytest.mark.timeout(90)
def test_sigkill_then_the_leak_command_stops_the_browser(
    server: ServerThread,
    client: BrowserUse,
    pages: PageServer,
    ledger_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    # A temp folder of the program's own: Playwright's driver, killed with it, leaves its
    # empty artifacts folder there (Playwright's, not bu-cdp's, and gone with tmp_path).
    child = _spawn(CHILD_ONE, server, pages.url + "/about", tmp_path)
    browser_id = _read_id(child)
    child.kill()
    child.communicate(timeout=30)
    assert client.browsers.get(browser_id).status == "active"  # leaked: nobody stopped it

    configure_environment(server, monkeypatch)
    assert cli(["browsers", "stop", "--leaked"]) == 0

    assert client.browsers.get(browser_id).status == "stopped"
    out = capsys.readouterr().out
    assert f"stopped        {browser_id}  {server.base_url}" in out
    assert "stopped 1 leaked browser(s)" in out
    assert server.config.api_key not in out
    assert Ledger(ledger_file).open_entries() == []

    # Run again: nothing left to do.
    assert cli(["browsers", "stop", "--leaked"]) == 0
    assert "stopped 0 leaked browser(s)" in capsys.readouterr().out


@pytest.fixture
def default_sigterm() -> Iterator[None]:
    """SIGTERM as a program without a handler has it (the bu-cdp pytest plugin installs one)."""
    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    yield
    signal.signal(signal.SIGTERM, previous)


def test_the_sigterm_handler_is_there_only_during_a_block(
    api: dict[str, str], default_sigterm: None
) -> None:
    with RemoteBrowser(**api):
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_a_programs_own_sigterm_handler_is_never_replaced(default_sigterm: None) -> None:
    def programs_own(signum: int, frame: object) -> None:
        pass

    signal.signal(signal.SIGTERM, programs_own)
    _exits.block_entered()  # what every RemoteBrowser block does first
    assert signal.getsignal(signal.SIGTERM) is programs_own
    _exits.block_left()
    assert signal.getsignal(signal.SIGTERM) is programs_own


@pytest.fixture
def default_sighup() -> Iterator[None]:
    previous = signal.signal(signal.SIGHUP, signal.SIG_DFL)
    yield
    signal.signal(signal.SIGHUP, previous)


def test_sigterm_interrupts_and_signals_ignored(
    default_sigterm: None, default_sighup: None
) -> None:
    """The context managers `bu-cdp open` is built on: SIGTERM and SIGHUP end a wait like
    Ctrl-C inside the first; the second lets a cleanup finish whatever comes."""
    with _exits.sigterm_interrupts(hangup=True):
        for signum in (signal.SIGTERM, signal.SIGHUP):
            with pytest.raises(KeyboardInterrupt) as caught:
                os.kill(os.getpid(), signum)  # the handler runs as the call returns
            assert isinstance(caught.value, _exits.Terminated)
            assert caught.value.code == 128 + signum
            with _exits.signals_ignored():
                os.kill(os.getpid(), signum)  # nothing happens: the cleanup goes on
                os.kill(os.getpid(), signal.SIGINT)
            assert signal.getsignal(signum) is not signal.SIG_DFL  # the interrupt is back
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    assert signal.getsignal(signal.SIGHUP) is signal.SIG_DFL
