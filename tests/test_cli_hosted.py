"""The bu-cdp command follows BU_CDP_API_DIALECT: against the real server's hosted face, with
its presigned upload, its account, and doctor saying which dialect a target speaks."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from bu_cdp.cli import main
from bu_cdp.cli.doctor import _api
from bu_cdp.server.api.routes.hosted import PREFIX as HOSTED_PREFIX
from bu_cdp.server.thread import ServerThread


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def hosted_face(server: ServerThread, monkeypatch: pytest.MonkeyPatch) -> str:
    root = str(httpx.URL(server.base_url).copy_with(path=""))
    monkeypatch.setenv("BU_CDP_BASE_URL", root + HOSTED_PREFIX)
    monkeypatch.setenv("BROWSER_USE_API_KEY", server.config.api_key)
    monkeypatch.setenv("BU_CDP_API_DIALECT", "hosted")
    return root + HOSTED_PREFIX


def test_the_command_speaks_hosted_when_told(
    hosted_face: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    workspace = json.loads(run(capsys, "workspaces", "create", "cli-hosted", "--json")[1])
    data = tmp_path / "notes.txt"
    data.write_bytes(b"presigned bytes\n" * 1000)
    code, out, _ = run(capsys, "workspaces", "upload", workspace["id"], str(data))
    assert code == 0 and "uploaded 1 file(s)" in out
    files = json.loads(run(capsys, "workspaces", "files", workspace["id"], "--json")[1])
    assert [(f["path"].rsplit("/", 1)[-1], f["size"]) for f in files] == [("notes.txt", 16_000)]
    path = files[0]["path"]
    assert run(capsys, "workspaces", "delete-file", workspace["id"], path)[0] == 0
    assert json.loads(run(capsys, "workspaces", "files", workspace["id"], "--json")[1]) == []
    assert run(capsys, "workspaces", "delete", workspace["id"])[0] == 0

    code, out, _ = run(capsys, "billing", "account", "--json")
    assert code == 0 and "total_credits_balance_usd" in json.loads(out)
    code, _, err = run(capsys, "billing", "usage")
    assert code == 1 and "not part of the hosted dialect" in err and "billing.account()" in err


def test_doctor_says_which_dialect_a_target_speaks(
    hosted_face: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    check = _api(None)
    assert check.ok, check
    assert "speaking the hosted dialect (set by BU_CDP_API_DIALECT)" in check.found
    monkeypatch.setenv("BU_CDP_API_DIALECT", "auto")
    check = _api(hosted_face.replace(HOSTED_PREFIX, "/api/v3"))
    assert check.ok and "the seed dialect (auto: not a Browser Use host)" in check.found
    monkeypatch.setenv("BU_CDP_API_DIALECT", "cloud")
    check = _api(None)
    assert not check.ok and "BU_CDP_API_DIALECT must be seed, hosted or auto" in check.found


def test_a_bad_dialect_is_one_line_naming_the_variable(
    hosted_face: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BU_CDP_API_DIALECT", "v2")
    code, _, err = run(capsys, "profiles", "list")
    assert code == 1
    assert err.strip() == "bu-cdp: error: BU_CDP_API_DIALECT must be seed, hosted or auto, got 'v2'"
