"""CI's leftover check (.ci/leftovers.py): after the suite, its private TMPDIR and BU_CDP_HOME
must be empty but for what says it is kept on purpose."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CHECK = Path(__file__).resolve().parents[1] / ".ci" / "leftovers.py"


def _check(*folders: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHECK), *map(str, folders)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_empty_folders_pass(tmp_path: Path) -> None:
    (tmp_path / "tmp").mkdir()
    done = _check(tmp_path / "tmp", tmp_path / "never-made")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_what_is_left_is_named_and_fails(tmp_path: Path) -> None:
    tmp, home = tmp_path / "tmp", tmp_path / "home"
    run = tmp / "bu-cdp-tests-abc"  # a test run's own folder, as conftest makes it
    (run / "org.chromium.Chromium.x1Y2z3").mkdir(parents=True)  # what Chromium leaves
    (run / "bu-cdp-data-q" / "profiles").mkdir(parents=True)
    (run / "bu-cdp-data-q" / "profiles" / "cookies").write_text("...")
    (home / "recordings").mkdir(parents=True)
    (home / "recordings" / "b.webm").write_bytes(b"\x1a")
    done = _check(tmp, home)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"left behind: {run / 'bu-cdp-data-q'} (a folder, 1 file(s) in it)",
        f"left behind: {run / 'org.chromium.Chromium.x1Y2z3'} (an empty folder)",
        f"left behind: {home / 'recordings' / 'b.webm'} (a file)",
    ]


def test_what_is_kept_on_purpose_says_why(tmp_path: Path) -> None:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "shop").write_text("cookies")
    (tmp_path / "profiles.kept").write_text("the persistent_login recipe's profile, on purpose\n")
    done = _check(tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        f"kept on purpose: {tmp_path / 'profiles'} "
        "(the persistent_login recipe's profile, on purpose)\n"
    )
    (tmp_path / "stray.log").write_text("")  # a note covers only what it names
    done = _check(tmp_path)
    assert done.returncode == 1 and "stray.log" in done.stderr


def test_many_leftovers_are_counted_not_all_printed(tmp_path: Path) -> None:
    for n in range(40):
        (tmp_path / f"org.chromium.Chromium.{n:02}").mkdir()
    done = _check(tmp_path)
    lines = done.stderr.splitlines()
    assert done.returncode == 1 and len(lines) == 31
    assert lines[-1] == "left behind: ... and 10 more"
