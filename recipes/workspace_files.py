"""Workspaces: files that live on the API's side, for browsers and agents to use.

    python recipes/workspace_files.py

Creates a workspace, uploads a file from disk (streamed, not read into memory) and one from
bytes, lists them with their sizes, downloads one back and checks it, then deletes the
workspace. Offline by default; with BROWSER_USE_API_KEY set it uses the hosted API (which
serves all but the download: that route is an extension of the bu-cdp local server).
"""

from __future__ import annotations

import sys
import tempfile
import uuid
from pathlib import Path

from bu_cdp import BrowserUse


def main() -> int:
    with BrowserUse() as client, tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.csv"
        report.write_text("product,price\nTeapot,18.00\nMug,6.50\n")

        workspace = client.workspaces.create(f"recipe-{uuid.uuid4().hex[:6]}")
        assert workspace.id
        print(f"workspace {workspace.name} ({workspace.id})")
        try:
            client.workspaces.upload(workspace.id, report, prefix="data/")  # a path: streamed
            client.workspaces.upload(workspace.id, b"hello\n", filename="notes.txt")  # bytes

            for item in client.workspaces.files(workspace.id):
                print(f"  {item.path:<20} {item.size:>6} bytes  modified {item.modified_at}")
            print(f"  total: {client.workspaces.size(workspace.id).bytes} bytes")

            copy = client.workspaces.download(
                workspace.id, "data/report.csv", Path(scratch) / "back.csv"
            )
            same = copy.read_bytes() == report.read_bytes()
            print(f"downloaded data/report.csv again: {'identical' if same else 'DIFFERENT'}")
        finally:
            client.workspaces.delete(workspace.id)  # removes its files too
            print("workspace deleted")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
