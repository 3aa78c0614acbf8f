"""Each recipe runs as a user would run it: a subprocess, offline, on the embedded default."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.pages import PageServer

RECIPES = Path(__file__).resolve().parents[1] / "recipes"


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("BROWSER_USE_API_KEY", "BU_CDP_BASE_URL")
    }
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_screenshot_recipe_default_page(tmp_path: Path) -> None:
    done = _run([str(RECIPES / "screenshot.py")], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out" / "screenshot.png"
    assert f"Screenshot saved to {out}" in done.stdout
    assert out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert out.stat().st_size > 5000  # a rendered page, not an empty image


def test_screenshot_recipe_with_url_and_output(tmp_path: Path, pages: PageServer) -> None:
    out = tmp_path / "about.png"
    done = _run([str(RECIPES / "screenshot.py"), pages.url + "/about", str(out)], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Page title: 'About us'" in done.stdout
    assert out.read_bytes().startswith(b"\x89PNG")
    assert "/about" in pages.requests
