"""Uploads whose files would be a file and a folder at once get 409, never a 500."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from bu_cdp.server.config import ServerConfig
from bu_cdp.server.shared.problems import ApiProblem
from bu_cdp.server.storage.store import Store
from bu_cdp.server.storage.uploads import UploadPart
from bu_cdp.server.storage.workspaces import WorkspaceStore
from bu_cdp.server.thread import ServerThread
from tests.support import multipart
from tests.support.local_api import key_header


def _upload(server: ServerThread, workspace_id: str, *files: tuple[str, bytes]) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/workspaces/{workspace_id}/upload",
        content=multipart.body(*files),
        headers={**key_header(server), **multipart.CONTENT_TYPE},
        timeout=30,
    )


@pytest.mark.parametrize(
    "names",
    [("x", "x/y"), ("x/y", "x"), ("a/b", "a/b/c/d.txt")],
    ids=["file-first", "folder-first", "deep"],
)
def test_one_upload_naming_a_file_and_a_folder_at_one_path_gets_409(
    make_server: Callable[..., ServerThread], tmp_path: Path, names: tuple[str, str]
) -> None:
    data = tmp_path / "data"
    server = make_server(data_dir=data)
    headers = key_header(server)
    workspace = httpx.post(server.base_url + "/workspaces", json={"name": "w"}, headers=headers)
    workspace_id = workspace.json()["id"]

    answer = _upload(server, workspace_id, (names[0], b"one"), (names[1], b"two"))
    assert answer.status_code == 409, answer.text
    detail = answer.json()["detail"]
    assert repr(names[0]) in detail and repr(names[1]) in detail

    # Nothing of it was kept: no file, no folder, no partial upload.
    folder = data / "workspaces" / workspace_id
    assert [p for p in folder.rglob("*") if not p.is_dir()] == []
    assert not (folder / "files").exists() or not any((folder / "files").iterdir())
    # The same files in separate requests: the second finds the first in its way, 409 too.
    assert _upload(server, workspace_id, (names[0], b"one")).status_code == 200
    assert _upload(server, workspace_id, (names[1], b"two")).status_code == 409


def test_a_conflict_made_by_another_request_in_the_meantime_is_409(tmp_path: Path) -> None:
    """Between the checks of an upload and its renames, another request puts a folder where a
    file of this one goes (the two steps are run here one after the other, with the other
    request's folder made in between)."""
    store = Store(tmp_path / "data")
    workspaces = WorkspaceStore(store, "run", ServerConfig(api_key="k").max_upload_bytes)
    root = workspaces.files_root(workspaces.create("w")["id"])
    root.mkdir(parents=True)
    partial = tmp_path / "partial"
    partial.write_bytes(b"the upload")
    parts = [UploadPart(segments=["report"], partial=partial, done=True, stored=True)]

    targets = workspaces._targets(root, parts)
    (root / "report" / "2024").mkdir(parents=True)  # the other request's folder
    with pytest.raises(ApiProblem) as conflict:
        workspaces._move(root, parts, targets)
    assert conflict.value.status_code == 409
    assert "'report'" in conflict.value.detail
    assert partial.read_bytes() == b"the upload"  # not half-placed
    store.close()
