"""Each recipe runs as a user would run it: a subprocess, offline.

The screenshot recipe runs on the embedded default, as `make demo` does; the others are
pointed at the suite's server through BU_CDP_BASE_URL and BROWSER_USE_API_KEY, which is the
same code path a user takes with `bu-cdp serve`, and saves starting a server per recipe.
What the hosted API would change (public demo URLs, no download route) is tested in-process,
without the network.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest

import bu_cdp.embedded
from bu_cdp.client._workspaces import Workspaces
from bu_cdp.errors import NotFoundError
from bu_cdp.server.thread import ServerThread
from tests.support.example_com import TITLE, ExampleCom, chromium_reaching_example_com
from tests.support.local_api import configure_environment
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


SCRIPTS = sorted(p.name for p in RECIPES.glob("*.py") if not p.name.startswith("_"))


def _recipe(name: str) -> str:
    return str(RECIPES / name)


def _recipe_module(name: str) -> ModuleType:
    """A recipe loaded into this process, for the tests that change what it talks to."""
    spec = importlib.util.spec_from_file_location(f"recipe_{name}", RECIPES / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def _must_not_start() -> NoReturn:
    raise AssertionError("choosing the demo URLs started something")


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
    # The peak the recipe counted from its own browsers, not the argument echoed: five pages
    # all start at once, so without the semaphore it would be 5; with it, exactly the bound.
    peak = re.search(r"at most (\d+) browsers at once \(--concurrency 2\)", done.stderr)
    assert peak, done.stderr
    assert int(peak[1]) == 2


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


def test_workspace_files_where_there_is_no_download(
    server: ServerThread, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """As on the hosted API: the download route answers 404. One line says so; no traceback."""

    def no_such_route(*args: object, **kwargs: object) -> None:
        raise NotFoundError("Not Found", status_code=404)

    monkeypatch.setattr(Workspaces, "download", no_such_route)
    configure_environment(server, monkeypatch)
    assert _recipe_module("workspace_files").main(["workspace_files.py"]) == 0
    out = capsys.readouterr().out
    assert "this API has no download" in out
    assert "files() and size() match the uploads" in out and "workspace deleted" in out


def test_demo_urls_are_public_when_the_browsers_run_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    demo = _recipe_module("_demo_site")
    monkeypatch.setattr(demo, "demo_site", _must_not_start)  # no local site: it is unreachable
    monkeypatch.setattr(bu_cdp.embedded, "embedded_server", _must_not_start)
    monkeypatch.setenv("BROWSER_USE_API_KEY", "bu_test")
    monkeypatch.setenv("BU_CDP_BASE_URL", "https://api.example.test/api/v3")
    assert not demo.browsers_run_here()
    with demo.demo_urls() as urls:
        assert urls is demo.PUBLIC
        assert urls.home == "https://example.com"
        assert all(url.startswith("https://") for url in urls.pages)
        assert len(urls.pages) > 3  # more pages than parallel_crawl's default bound
    # The hosted API itself (a key, no base URL) is elsewhere too.
    monkeypatch.delenv("BU_CDP_BASE_URL")
    assert not demo.browsers_run_here()


def test_demo_urls_are_local_when_the_browsers_run_here(monkeypatch: pytest.MonkeyPatch) -> None:
    demo = _recipe_module("_demo_site")
    monkeypatch.setattr(bu_cdp.embedded, "embedded_server", _must_not_start)
    # The embedded default (neither variable set): decided without starting it.
    monkeypatch.delenv("BROWSER_USE_API_KEY", raising=False)
    monkeypatch.delenv("BU_CDP_BASE_URL", raising=False)
    assert demo.browsers_run_here()
    with demo.demo_urls() as urls:
        assert urls.home.startswith("http://127.0.0.1:")
        assert urls.ip == urls.home + "/ip"
    # A server at a loopback address is on this machine too.
    for base in ("http://127.0.0.1:8000/api/v3", "http://localhost:8000", "http://[::1]:9"):
        monkeypatch.setenv("BU_CDP_BASE_URL", base)
        assert demo.browsers_run_here(), base
    monkeypatch.setenv("BU_CDP_BASE_URL", "http://10.0.0.7:8000")  # another machine
    assert not demo.browsers_run_here()


def test_agent_task_explains_the_local_501(tmp_path: Path, server: ServerThread) -> None:
    done = _run([_recipe("agent_task.py"), "Find the price of the blue lamp"], tmp_path, server)
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


@pytest.mark.parametrize("name", SCRIPTS)
def test_help_is_usage_and_starts_nothing(name: str, tmp_path: Path) -> None:
    # No API configured and no Chromium to find: a recipe that started anything would fail.
    done = _run([_recipe(name), "--help"], tmp_path, env={"BU_CDP_CHROMIUM": "/nonexistent"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: ") and done.stderr == ""
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def example_com_chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Chromium that reaches example.com at a local https server (no internet here)."""
    with ExampleCom(tmp_path_factory.mktemp("example-com")) as example:
        folder = tmp_path_factory.mktemp("chromium")
        yield str(chromium_reaching_example_com(folder, example.server_address[1]))


@pytest.mark.parametrize(
    ("name", "out", "says"),
    [
        ("screenshot.py", "shot.png", f"Page title: {TITLE!r}"),
        ("pdf.py", "page.pdf", "PDF saved to"),
        ("scrape_links.py", "links.json", f"1 links from {TITLE!r}"),
    ],
)
def test_documented_arguments_a_bare_host_means_https(
    name: str, out: str, says: str, tmp_path: Path, example_com_chromium: str
) -> None:
    """`recipe.py example.com OUT`, as README's table documents it, on the embedded default."""
    done = _run(
        [_recipe(name), "example.com", out], tmp_path, env={"BU_CDP_CHROMIUM": example_com_chromium}
    )
    assert done.returncode == 0, done.stderr
    assert says in done.stdout and str(tmp_path / out) in done.stdout
    assert (tmp_path / out).stat().st_size > 0
    if name == "scrape_links.py":
        assert json.loads((tmp_path / out).read_text())["url"] == "https://example.com/"


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["pdf.py", "ftp://example.com/x"], "'ftp://example.com/x' is not a page address"),
        (["screenshot.py", "https://"], "'https://' is not a page address"),
        (["parallel_crawl.py", "--concurrency", "0"], "expected a whole number of at least 1"),
        (["parallel_crawl.py", "--concurrency", "many"], "expected a whole number of at least 1"),
    ],
)
def test_a_bad_argument_is_a_usage_error(argv: list[str], says: str, tmp_path: Path) -> None:
    done = _run([_recipe(argv[0]), *argv[1:]], tmp_path, env={"BU_CDP_CHROMIUM": "/nonexistent"})
    assert done.returncode == 2
    assert says in done.stderr and "usage: " in done.stderr
    assert "Traceback" not in done.stderr


def test_a_page_that_cannot_load_is_one_line(
    tmp_path: Path, server: ServerThread, closed_port: int
) -> None:
    url = f"http://127.0.0.1:{closed_port}/"
    done = _run([_recipe("scrape_links.py"), url], tmp_path, server)
    assert done.returncode == 1
    assert (
        done.stderr.strip() == f"error: could not load {url}: net::ERR_CONNECTION_REFUSED at {url}"
    )


def test_parallel_crawl_reports_a_page_that_cannot_load(
    tmp_path: Path, server: ServerThread, pages: PageServer, closed_port: int
) -> None:
    broken = f"http://127.0.0.1:{closed_port}/"
    done = _run([_recipe("parallel_crawl.py"), pages.url + "/about", broken], tmp_path, server)
    assert done.returncode == 0, done.stderr
    about, failed = json.loads(done.stdout)
    assert about["h1"] == "About"
    assert failed["url"] == broken and "net::ERR_CONNECTION_REFUSED" in failed["error"]
