"""Each recipe runs as a user would run it: a subprocess, offline.

The screenshot recipe runs on the embedded default, as `make demo` does; the others are
pointed at the suite's server through BU_CDP_BASE_URL and BROWSER_USE_API_KEY, which is the
same code path a user takes with `bu-cdp serve`, and saves starting a server per recipe.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bu_cdp.server.thread import ServerThread
from tests.support.pages import PageServer
from tests.support.proxy import AuthProxy

RECIPES = Path(__file__).resolve().parents[1] / "recipes"


def _run(
    args: list[str],
    cwd: Path,
    server: ServerThread | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    environ = {
        k: v for k, v in os.environ.items() if k not in ("BROWSER_USE_API_KEY", "BU_CDP_BASE_URL")
    }
    environ.update(env or {})
    if server is not None:
        environ.update(BU_CDP_BASE_URL=server.base_url, BROWSER_USE_API_KEY=server.config.api_key)
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=environ, capture_output=True, text=True, timeout=180
    )


def _recipe(name: str) -> str:
    return str(RECIPES / name)


def test_screenshot_on_the_embedded_default(tmp_path: Path) -> None:
    done = _run([_recipe("screenshot.py")], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out" / "screenshot.png"
    assert f"Screenshot saved to {out}" in done.stdout
    assert out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert out.stat().st_size > 5000  # a rendered page, not an empty image


def test_screenshot_with_url_and_output(
    tmp_path: Path, pages: PageServer, server: ServerThread
) -> None:
    out = tmp_path / "about.png"
    done = _run([_recipe("screenshot.py"), pages.url + "/about", str(out)], tmp_path, server)
    assert done.returncode == 0, done.stderr
    assert "Page title: 'About us'" in done.stdout
    assert out.read_bytes().startswith(b"\x89PNG")


def test_pdf(tmp_path: Path, server: ServerThread) -> None:
    done = _run([_recipe("pdf.py")], tmp_path, server)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out" / "page.pdf"
    assert f"PDF saved to {out}" in done.stdout
    assert out.read_bytes().startswith(b"%PDF-")


def test_scrape_links(tmp_path: Path, server: ServerThread) -> None:
    done = _run([_recipe("scrape_links.py")], tmp_path, server)
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "out" / "links.json").read_text())
    assert result["title"] == "Demo shop"
    texts = [link["text"] for link in result["links"]]
    assert texts[:4] == ["Teapot", "Mug", "Kettle", "Strainer"]
    assert all(link["href"].startswith("http://127.0.0.1:") for link in result["links"])


def test_parallel_crawl(tmp_path: Path, server: ServerThread) -> None:
    done = _run([_recipe("parallel_crawl.py"), "--concurrency", "2"], tmp_path, server)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert [r["h1"] for r in results] == ["Teapot", "Mug", "Kettle", "Strainer", "About"]
    assert len({r["browser"] for r in results}) == 5  # a fresh browser per page
    assert "at most 2 browsers at once" in done.stderr


def test_persistent_login_twice(tmp_path: Path, server: ServerThread) -> None:
    first = _run([_recipe("persistent_login.py"), "--profile", "smoke"], tmp_path, server)
    assert first.returncode == 0, first.stderr
    assert "browser 1: logged in as ada" in first.stdout
    assert "browser 2: the site says you are 'ada'" in first.stdout
    again = _run([_recipe("persistent_login.py"), "--profile", "smoke"], tmp_path, server)
    assert again.returncode == 0, again.stderr
    assert "browser 1: already logged in as ada" in again.stdout


def test_workspace_files(tmp_path: Path, server: ServerThread) -> None:
    done = _run([_recipe("workspace_files.py")], tmp_path, server)
    assert done.returncode == 0, done.stderr
    assert "data/report.csv" in done.stdout and "notes.txt" in done.stdout
    assert "total: 42 bytes" in done.stdout
    assert "identical" in done.stdout and "workspace deleted" in done.stdout


def test_agent_task_explains_the_local_501(tmp_path: Path, server: ServerThread) -> None:
    done = _run([_recipe("agent_task.py")], tmp_path, server)
    assert done.returncode == 2
    assert "Agent sessions are not available here" in done.stdout
    assert "BROWSER_USE_API_KEY" in done.stdout


@pytest.fixture
def proxy() -> Iterator[AuthProxy]:
    with AuthProxy("recipe", "pa:ss word") as running:
        yield running


def test_proxy_check_custom_proxy_and_country(
    tmp_path: Path, server: ServerThread, proxy: AuthProxy
) -> None:
    done = _run([_recipe("proxy_check.py"), "--proxy", proxy.url()], tmp_path, server)
    assert done.returncode == 0, done.stderr
    assert "direct:        127.0.0.1" in done.stdout
    assert "through proxy: 127.0.0.1" in done.stdout
    assert [s for s in proxy.seen if s.target.endswith("/ip") and s.authorized]
    assert "pa:ss word" not in done.stdout + done.stderr

    # A country code on the embedded default, whose map comes from BU_CDP_PROXIES.
    seen_before = len(proxy.seen)
    done = _run(
        [_recipe("proxy_check.py"), "--country", "us"],
        tmp_path,
        env={"BU_CDP_PROXIES": f"us={proxy.url()}"},
    )
    assert done.returncode == 0, done.stderr
    assert [s for s in proxy.seen[seen_before:] if s.target.endswith("/ip") and s.authorized]


def test_pytest_example_suite(tmp_path: Path, server: ServerThread) -> None:
    done = _run(
        [
            "-m",
            "pytest",
            str(RECIPES / "pytest_example"),
            "-q",
            "-p",
            "no:cacheprovider",
            "--bu-output",
            str(tmp_path / "results"),
        ],
        tmp_path,
        server,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout
