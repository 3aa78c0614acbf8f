"""Workspaces: files that live on the API's side, for browsers and agents to use.

    python recipes/workspace_files.py

Creates a workspace, uploads a file from disk (streamed, not read into memory) and one from
bytes, lists them with their sizes, downloads one back and checks it, then deletes the
workspace. Offline by default; with BROWSER_USE_API_KEY set it uses the hosted API, which has
no download (that route is an extension of the bu-cdp local server): there it checks the
listing and the total size against what it uploaded instead.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from pathlib import Path

from bu_cdp import BrowserUse
from bu_cdp.errors import NotFoundError


def main(argv: list[str]) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv[1:])
    with BrowserUse() as client, tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.csv"
        report.write_text("product,price\nTeapot,18.00\nMug,6.50\n")

        workspace = client.workspaces.create(f"recipe-{uuid.uuid4().hex[:6]}")
        assert workspace.id
        print(f"workspace {workspace.name} ({workspace.id})")
        try:
            client.workspaces.upload(workspace.id, report, prefix="data/")  # a path: streamed
            client.workspaces.upload(workspace.id, b"hello\n", filename="notes.txt")  # bytes

            listed: dict[str | None, int | None] = {}
            for item in client.workspaces.files(workspace.id):
                print(f"  {item.path:<20} {item.size:>6} bytes  modified {item.modified_at}")
                listed[item.path] = item.size
            total = client.workspaces.size(workspace.id).bytes
            print(f"  total: {total} bytes")

            try:
                copy = client.workspaces.download(
                    workspace.id, "data/report.csv", Path(scratch) / "back.csv"
                )
                same = copy.read_bytes() == report.read_bytes()
                print(f"downloaded data/report.csv again: {'identical' if same else 'DIFFERENT'}")
            except NotFoundError:  # no such route: the server lacks bu-cdp's download extension
                uploaded = {"data/report.csv": report.stat().st_size, "notes.txt": 6}
                same = listed == uploaded and total == sum(uploaded.values())
                verdict = "match" if same else "DO NOT match"
                print(
                    "this API has no download (a bu-cdp local-server extension); "
                    f"files() and size() {verdict} the uploads"
                )
        finally:
            client.workspaces.delete(workspace.id)  # removes its files too
            print("workspace deleted")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
