"""Every Python and shell example of README.md and docs/*.md runs as written.

Each block runs in a subprocess on the embedded default, as a reader who pastes it would run
it, in a working folder of its markdown file (so a later block of a file sees the files an
earlier one wrote). An HTML comment on the line before a block says how it is run:

- ``<!-- docs: hosted -->``: it needs the hosted API; only its syntax is checked.
- ``<!-- docs: syntax only: WHY -->``: it cannot run here (a server that runs until Ctrl-C,
  proxies of the reader's own); only its syntax is checked, and WHY says so.
- ``<!-- docs: file NAME -->``: a file the reader saves as NAME (a test module); a later shell
  block of the same page runs it.
- ``<!-- docs: pytest -->``: a test module, run with pytest.
- ``<!-- docs: raises NAME -->``: it shows an error: the run must end with that exception, and
  a ``# NAME: message`` comment in the block must be exactly what Python printed.

The examples visit https://example.com, and there is no internet here. So for this test only,
Chromium is started through a wrapper (``BU_CDP_CHROMIUM``, tests/support/example_com.py) that
adds a host-resolver rule sending example.com (and app.example) to a local https server with a
self-signed certificate, and ``--ignore-certificate-errors``. The docs keep their real URL, and
the blocks run unchanged: nothing in them is rewritten.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.example_com import ExampleCom, chromium_reaching_example_com

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CODE = ("python", "sh", "console")
FENCE = re.compile(r"^```(?P<lang>[\w-]*)\n(?P<code>.*?)^```\s*$", re.S | re.M)
MARK = re.compile(r"<!--\s*docs:\s*(?P<mark>.*?)\s*-->\s*\n$")
KNOWN_MARKS = re.compile(r"hosted|pytest|syntax only: .+|file [\w.]+|raises \w+")


@dataclass(frozen=True)
class Block:
    document: Path
    line: int
    lang: str
    code: str
    mark: str  # "" when the block simply runs

    @property
    def id(self) -> str:
        return f"{self.document.name}:{self.line}"


def blocks(document: Path) -> list[Block]:
    text = document.read_text()
    found = []
    for fence in FENCE.finditer(text):
        before = text[: fence.start()]
        mark = MARK.search(before)
        found.append(
            Block(
                document,
                before.count("\n") + 1,
                fence["lang"],
                fence["code"],
                mark["mark"] if mark else "",
            )
        )
    return found


CODE_BLOCKS = [b for d in DOCUMENTS for b in blocks(d) if b.lang in CODE]


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The environment of a reader with nothing configured: the embedded default, with the
    package's commands on PATH, and Chromium reaching example.com at a local server."""
    with ExampleCom(tmp_path_factory.mktemp("example-com")) as example:
        wrapper = chromium_reaching_example_com(
            tmp_path_factory.mktemp("chromium"), example.server_address[1]
        )
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("BROWSER_USE_API_KEY", "BU_CDP_BASE_URL")
        }
        env["BU_CDP_CHROMIUM"] = str(wrapper)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env["PYTHONPATH"] = ""  # as a reader's: the installed package, not this checkout's tests
        yield env


@pytest.fixture(scope="module")
def workdirs(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, Path]:
    return {d: tmp_path_factory.mktemp(d.stem) for d in DOCUMENTS}


def _workdir(block: Block, workdirs: dict[Path, Path]) -> Path:
    """The page's working folder, with every ``file NAME`` block of the page saved in it and
    the page's own data folder (profiles, workspaces) as BU_CDP_HOME."""
    folder = workdirs[block.document]
    for other in blocks(block.document):
        if other.mark.startswith("file "):
            (folder / other.mark.removeprefix("file ")).write_text(other.code)
    return folder


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {**env, "BU_CDP_HOME": str(cwd / "bu-cdp-home")}
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def _commands(block: Block) -> list[tuple[str, list[str]]]:
    """A console block's ``$ command`` lines, each with the output lines shown under it."""
    shown: list[tuple[str, list[str]]] = []
    for line in block.code.splitlines():
        if line.startswith("$ "):
            shown.append((line[2:], []))
        elif shown:
            shown[-1][1].append(line)
    return shown


def _syntax(block: Block) -> None:
    if block.lang == "python":
        compile(block.code, block.id, "exec")
        return
    script = block.code
    if block.lang == "console":
        script = "\n".join(command for command, _ in _commands(block))
    done = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
    assert done.returncode == 0, f"{block.id}: {done.stderr}"


def _words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("block", CODE_BLOCKS, ids=lambda b: b.id)
def test_example_runs_as_written(
    block: Block, environment: dict[str, str], workdirs: dict[Path, Path]
) -> None:
    assert KNOWN_MARKS.fullmatch(block.mark) or not block.mark, f"{block.id}: {block.mark!r}"
    _syntax(block)
    if block.mark == "hosted" or block.mark.startswith(("syntax only", "file ")):
        return
    cwd = _workdir(block, workdirs)
    if block.lang == "python":
        script = cwd / f"example_{block.line}.py"
        if block.mark == "pytest":
            script = cwd / f"test_example_{block.line}.py"
        script.write_text(block.code)
        argv = [sys.executable, str(script)]
        if block.mark == "pytest":
            argv = [sys.executable, "-m", "pytest", "-q", str(script)]
        done = _run(argv, cwd, environment)
        said = f"{block.id} ended {done.returncode}:\n{done.stdout}\n{done.stderr}"
        if block.mark.startswith("raises "):
            error = block.mark.removeprefix("raises ")
            last = done.stderr.strip().splitlines()[-1]
            assert done.returncode == 1 and last.startswith(f"{error}: "), said
            for expected in re.findall(rf"^# ({error}: .*)$", block.code, re.M):
                assert last == expected, said
        else:
            assert done.returncode == 0, said
    elif block.lang == "sh":
        done = _run(["bash", "-euo", "pipefail", "-c", block.code], cwd, environment)
        assert done.returncode == 0, f"{block.id}:\n{done.stdout}\n{done.stderr}"
    else:
        for command, output in _commands(block):
            done = _run(["bash", "-euo", "pipefail", "-c", command], cwd, environment)
            said = f"{block.id}: `{command}` ended {done.returncode}:\n{done.stdout}{done.stderr}"
            assert done.returncode == 0, said
            for line in output:
                # What differs by machine (versions, paths, timings) comes after a colon.
                head = line.split(": ", 1)[0] if ": " in line else line
                assert _words(head) in _words(done.stdout), f"{said}\nnot shown: {line!r}"


def test_every_block_is_found_and_marked_as_known() -> None:
    """The extraction itself: the blocks of every page are found, and no mark is misspelt
    (a misspelt mark would make a block run that is meant to be only checked, or not)."""
    assert {b.document.name for b in CODE_BLOCKS} >= {"README.md", "remote-browser.md", "cli.md"}
    assert len(CODE_BLOCKS) >= 20
    for block in CODE_BLOCKS:
        assert not block.mark or KNOWN_MARKS.fullmatch(block.mark), block.id
    hosted = [b.id for b in CODE_BLOCKS if b.mark == "hosted"]
    assert hosted  # the sessions examples: checked for syntax, not run
