"""The embedded default: a child process that ends with its program on every way out.

Each case runs a real user program (a Python subprocess with a private TMPDIR, BU_CDP_HOME and
ledger) on the embedded default, with real Chromium, ends it one way, then looks: no server
process, no Chromium, no ``bu-cdp-*`` folder left, no traceback, and the profile it logged in
with saved (the next program on the profile is logged in).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import processes
from tests.support.pages import PageServer
from tests.support.waiting import wait_until

# Logs in on a profile in a block it never leaves, then ends the way argv[2] says; for the
# signals, it waits inside a second block (in Playwright, as a test would).
PROGRAM = """
import logging, os, sys
from bu_cdp import RemoteBrowser
from bu_cdp.embedded import embedded_server

logging.basicConfig(level=logging.INFO, filename=os.environ["LOG_FILE"])
url, way = sys.argv[1], sys.argv[2]
never_left = RemoteBrowser(profile="shop", create_profile=True).__enter__()
never_left.page.goto(url + "/login?user=alice")
print(embedded_server().process.pid, flush=True)
if way == "exception":
    raise ValueError("the program failed")
if way == "keep_alive":
    with RemoteBrowser(profile="other", create_profile=True, keep_alive=True) as kept:
        kept.page.goto(url + "/login?user=bob")
    print(kept.id, flush=True)
if way in ("SIGINT", "SIGTERM", "SIGKILL"):
    with RemoteBrowser() as rb:
        print("waiting", flush=True)
        rb.page.wait_for_timeout(60_000)
"""

WHOAMI = """
import sys
from bu_cdp import RemoteBrowser

with RemoteBrowser(profile=sys.argv[2]) as rb:
    rb.page.goto(sys.argv[1] + "/whoami")
    print(rb.page.title(), flush=True)
"""


@dataclass
class Sandbox:
    """A user's machine as far as bu-cdp can tell: its own TMPDIR, data folder and ledger."""

    root: Path

    @property
    def tmpdir(self) -> Path:
        return self.root / "tmp"

    @property
    def log_file(self) -> Path:
        return self.root / "program.log"

    @property
    def ledger(self) -> Path:
        return self.root / "browsers.jsonl"

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "TMPDIR": str(self.tmpdir),
            "BU_CDP_HOME": str(self.root / "home"),
            "BU_CDP_LEDGER": str(self.ledger),
            "LOG_FILE": str(self.log_file),
            **extra,
        }

    def start(self, script: str, *args: str, **extra: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-c", script, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env(**extra),
            start_new_session=True,  # its own group: SIGINT to it is a terminal's Ctrl-C
        )

    def leftovers(self) -> list[str]:
        return sorted(p.name for p in self.tmpdir.iterdir() if p.name.startswith("bu-cdp-"))

    def chromiums(self) -> list[int]:
        return processes.live_chromiums(str(self.tmpdir))

    def whoami(self, page_url: str, profile: str = "shop") -> str:
        done = subprocess.run(
            [sys.executable, "-c", WHOAMI, page_url, profile],
            capture_output=True,
            text=True,
            env=self.env(),
            timeout=90,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    # Short: Chromium puts a unix socket in its TMPDIR (under xdist the suite's temp folder
    # is nested in the controller's, too long for one). Removed below, whatever happens.
    root = Path(tempfile.mkdtemp(prefix="ep-", dir="/tmp" if os.path.isdir("/tmp") else None))
    (root / "tmp").mkdir()
    try:
        yield Sandbox(root)
    finally:
        for pid in processes.live_chromiums(str(root)):  # only if a test failed
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(root, ignore_errors=True)


def _line(program: subprocess.Popen[str]) -> str:
    assert program.stdout is not None
    line = program.stdout.readline().strip()
    if not line:
        program.kill()
        raise AssertionError(f"the program said nothing: {program.communicate(timeout=30)[1]}")
    return line


def _gone(pid: int) -> bool:
    return processes.read(pid) is None


WAYS = ["normal", "exception", "keep_alive", "SIGINT", "SIGTERM", "SIGKILL"]


@pytest.mark.timeout(180)
@pytest.mark.parametrize("way", WAYS)
def test_every_way_out_stops_the_server_saves_the_profile_and_leaves_nothing(
    sandbox: Sandbox, pages: PageServer, way: str
) -> None:
    program = sandbox.start(PROGRAM, pages.url, way)
    server_pid = int(_line(program))
    if way == "keep_alive":
        kept = _line(program)
    if way.startswith("SIG"):
        assert _line(program) == "waiting"
        os.killpg(program.pid, getattr(signal, way))
    _, stderr = program.communicate(timeout=120)

    wait_until(lambda: _gone(server_pid), 60, "the embedded server to end with its program")
    wait_until(lambda: not sandbox.chromiums(), 30, "every Chromium to end")
    assert sandbox.leftovers() == []
    # Only the program's own words: its error, or Python's report of a Ctrl-C. Killed
    # outright, it says nothing; its server ends all the same.
    own = {"exception": "ValueError: the program failed", "SIGINT": "KeyboardInterrupt"}
    if way in own:
        assert stderr.count("Traceback") == 1 and stderr.strip().endswith(own[way]), stderr
    else:
        assert stderr == ""
    assert sandbox.whoami(pages.url) == "alice"  # the login was saved in the profile
    if way == "keep_alive":
        said = sandbox.log_file.read_text()
        assert f"browser {kept} left running (keep_alive=True) until this process exits" in said
        assert sandbox.whoami(pages.url, "other") == "bob"
        events = [json.loads(line) for line in sandbox.ledger.read_text().splitlines()]
        assert [e["event"] for e in events if e["id"] == kept] == ["created", "stopped"]


@pytest.mark.timeout(120)
def test_an_unusable_data_folder_leaves_no_scratch_folder_and_no_traceback(
    sandbox: Sandbox, pages: PageServer
) -> None:
    (sandbox.root / "a-file").write_text("")
    program = sandbox.start(
        PROGRAM, pages.url, "normal", BU_CDP_HOME=str(sandbox.root / "a-file" / "home")
    )
    server_pid = int(_line(program))
    _, stderr = program.communicate(timeout=120)
    assert program.returncode == 0, stderr
    wait_until(lambda: _gone(server_pid), 60, "the embedded server to end with its program")
    assert "Traceback" not in stderr, stderr
    assert "profiles, workspaces and billing will not persist" in sandbox.log_file.read_text()
    assert sandbox.leftovers() == []  # no bu-cdp-data-*, no browser folder


# Starts the server, then forks a child that holds the server's stdin pipe open (as a program
# forked by multiprocessing would): the pipe never ends, so only the parent-death signal can
# tell the server that this program was killed.
FORKS_THEN_WAITS = """
import os, time
from bu_cdp.embedded import embedded_server

server = embedded_server()
server.wait_ready()  # serving: past the start, where a parent already gone is checked
if os.fork() == 0:
    time.sleep(120)
    os._exit(0)
print(server.process.pid, flush=True)
time.sleep(120)
"""


@pytest.mark.timeout(120)
def test_the_server_ends_when_its_parent_is_killed_even_with_its_pipe_held_open(
    sandbox: Sandbox,
) -> None:
    program = sandbox.start(FORKS_THEN_WAITS)
    server_pid = int(_line(program))
    try:
        program.kill()
        program.wait(30)
        wait_until(lambda: _gone(server_pid), 60, "the parent-death signal to end the server")
    finally:
        os.killpg(program.pid, signal.SIGKILL)  # the forked child, still asleep


LOGS = """
import logging, os
from bu_cdp import remote_browser
from bu_cdp.embedded import embedded_server

logging.basicConfig(
    level=logging.INFO, filename=os.environ["LOG_FILE"], format="%(name)s|%(message)s"
)
with remote_browser() as page:
    pass
print(embedded_server().process.pid, flush=True)
"""


def test_the_servers_logs_reach_the_programs_logging_and_no_key_is_on_its_command_line(
    sandbox: Sandbox,
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", LOGS], capture_output=True, text=True, env=sandbox.env(), timeout=90
    )
    assert done.returncode == 0, done.stderr
    server_pid = int(done.stdout)
    said = sandbox.log_file.read_text()
    assert f"bu_cdp.server|embedded server (pid {server_pid}): browser " in said
    assert " started in " in said
    assert done.stderr == ""  # nothing at warning level, and nothing printed around logging


@pytest.mark.timeout(120)
def test_a_server_killed_outright_is_cleaned_up_by_the_next_one_which_says_who_it_is(
    sandbox: Sandbox, pages: PageServer
) -> None:
    program = sandbox.start(PROGRAM, pages.url, "SIGKILL")
    server_pid = int(_line(program))
    assert _line(program) == "waiting"
    os.kill(server_pid, signal.SIGKILL)  # no graceful ending: its browsers stay active rows
    os.killpg(program.pid, signal.SIGKILL)
    program.communicate(timeout=60)
    wait_until(lambda: not sandbox.chromiums(), 30, "Chromium to die with its server")

    done = subprocess.run(
        [sys.executable, "-c", LOGS], capture_output=True, text=True, env=sandbox.env(), timeout=90
    )
    assert done.returncode == 0, done.stderr
    said = sandbox.log_file.read_text()
    home = sandbox.root / "home"
    assert (
        f"embedded server (pid {int(done.stdout)}): this bu-cdp server (data folder {home}) "
        "closed 2 browser(s) left active there by an earlier bu-cdp server that died"
    ) in said


def logs_of_one_browser(sandbox: Sandbox, warm: str) -> str:
    """What the program's log says after one browser on the embedded default, BU_CDP_WARM set."""
    done = subprocess.run(
        [sys.executable, "-c", LOGS],
        capture_output=True,
        text=True,
        env=sandbox.env(BU_CDP_WARM=warm),
        timeout=90,
    )
    assert done.returncode == 0, done.stderr
    return sandbox.log_file.read_text()


def test_under_a_test_run_the_first_browser_is_the_chromium_started_before_the_server_loaded(
    sandbox: Sandbox,
) -> None:
    """The child starts one Chromium before it imports the server (it boots meanwhile), and
    the warm pool hands that one out first, not a second launch."""
    said = logs_of_one_browser(sandbox, warm="1")
    ahead = re.search(r"started Chromium \(pid (\d+)\) ahead of the server", said)
    assert ahead is not None, said
    assert f"(pid {ahead[1]}, from the warm pool)" in said
    assert sandbox.leftovers() == [] and sandbox.chromiums() == []


def test_without_a_warm_pool_no_chromium_is_started_ahead(sandbox: Sandbox) -> None:
    said = logs_of_one_browser(sandbox, warm="0")
    assert " started in " in said and "ahead of the server" not in said
