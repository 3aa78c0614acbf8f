"""Packaging promises: a cheap import, the shipped contract, the entry points."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from importlib import metadata, resources
from pathlib import Path

SPEC_NAME = "shared/spec/browser-use-cloud-v3.openapi.yaml"
# The shared spec's SHA-256, recorded when it was copied: a clone of this repository alone has
# no ../shared to compare with, and the copy must not drift there either.
SHARED_SPEC_SHA256 = "ba6467649286c4a44c8d9cdcea8995866a908afa6813d6bbcec2cbc1d89062fc"
HOSTED_SPEC_NAME = "shared/spec/browser-use-cloud-v3.hosted.openapi.json"
HOSTED_SPEC_SHA256 = "8cef17a3572aba19a16e0a90e1a370f6e98bedd5a6e6291c93c9a7ab39d54757"


def test_import_does_not_pull_in_playwright_or_the_server() -> None:
    code = (
        "import sys, bu_cdp; "
        "heavy = [m for m in ('playwright', 'fastapi', 'uvicorn', 'starlette', 'httpx', "
        "'pydantic', 'bu_cdp.server', 'bu_cdp.remote') if m in sys.modules]; "
        "print(heavy)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_public_names_resolve_lazily() -> None:
    import bu_cdp

    assert bu_cdp.remote_browser.__module__ == "bu_cdp.remote"
    assert bu_cdp.BrowserUse.__module__ == "bu_cdp.client"
    assert "AsyncRemoteBrowser" in dir(bu_cdp)


def test_shipped_spec_is_the_shared_one_unchanged() -> None:
    shipped = resources.files("bu_cdp").joinpath("openapi.yaml").read_bytes()
    assert resources.files("bu_cdp").joinpath("py.typed").is_file()
    assert hashlib.sha256(shipped).hexdigest() == SHARED_SPEC_SHA256
    # Where the shared folder is beside a checkout (../shared), the bytes must match it too.
    for folder in Path(__file__).resolve().parents:
        shared = folder / SPEC_NAME
        if shared.is_file():
            assert shipped == shared.read_bytes(), f"bu_cdp/openapi.yaml differs from {shared}"


def test_shipped_hosted_spec_is_the_shared_one_unchanged() -> None:
    """The hosted dialect's document, as Browser Use publishes it (docs/dialects.md)."""
    shipped = resources.files("bu_cdp").joinpath("openapi.hosted.json").read_bytes()
    assert hashlib.sha256(shipped).hexdigest() == HOSTED_SPEC_SHA256
    for folder in Path(__file__).resolve().parents:
        shared = folder / HOSTED_SPEC_NAME
        if shared.is_file():
            assert shipped == shared.read_bytes(), (
                f"bu_cdp/openapi.hosted.json differs from {shared}"
            )


def test_entry_points() -> None:
    eps = metadata.entry_points()
    assert any(ep.value == "conftest_plugin.plugin" for ep in eps.select(group="pytest11"))
    assert any(ep.value == "bu_cdp.cli:main" for ep in eps.select(group="console_scripts"))


def test_the_wheel_holds_every_module_and_the_data_files(tmp_path: Path) -> None:
    """Built as a user's pip builds it (not editable): every package, the spec, the viewer."""
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(root),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    [wheel] = tmp_path.glob("bu_cdp-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    sources = {
        str(path.relative_to(root))
        for package in ("bu_cdp", "conftest_plugin")
        for path in (root / package).rglob("*")
        if path.suffix in (".py", ".yaml", ".json", ".html", ".typed")
        and "__pycache__" not in path.parts
    }
    assert sources <= names, sorted(sources - names)
