"""``bu-cdp profiles|workspaces|billing ...``: the API's named resources and billing from the
shell, each command a thin function over ``BrowserUse`` (as ``bu_cdp.cli.api``'s browsers)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bu_cdp.cli.output import Output, Progress, ProgressReader
from bu_cdp.cli.shared import client_for, usage_error
from bu_cdp.client import BrowserUse
from bu_cdp.effects import run_sync
from bu_cdp.errors import ConfigurationError
from bu_cdp.options import Words
from bu_cdp.profile_lookup import profile_id_for

# -- profiles and workspaces: named resources -----------------------------------------------


@dataclass(frozen=True)
class NamedResource:
    """The commands profiles and workspaces share: list, create, get, rename, delete."""

    attribute: str  # of the client: "profiles", "workspaces"
    noun: str
    deleted: str  # what "delete" says it removed, after the id
    columns: tuple[str, ...] = ("id", "name", "created_at")
    # Profiles are also named where an id goes (as `--profile NAME` is), so a name must stay
    # one profile's: a second profile of that name would make every such use ambiguous.
    by_name: bool = False

    def _resource(self, client: BrowserUse) -> Any:
        return getattr(client, self.attribute)

    def _id(self, client: BrowserUse, given: str) -> str:
        """The id of ``given``: an id, or (profiles) a name matched exactly."""
        if not self.by_name:
            return given
        return run_sync(profile_id_for(client, given, words=LOOKUP))

    def _refuse_taken(self, client: BrowserUse, name: str, but: str | None = None) -> None:
        if not self.by_name:
            return
        taken = [str(r.id) for r in self._resource(client).list(query=name) if r.name == name]
        taken = [found for found in taken if found != but]
        if taken:
            raise ConfigurationError(
                f"a {self.noun} named {name!r} already exists ({', '.join(taken)}): use it, "
                f"or choose another name (two of one name would make --profile {name} ambiguous)"
            )

    def list(self, args: argparse.Namespace, out: Output) -> int:
        query = {"query": args.query} if getattr(args, "query", None) is not None else {}
        with client_for(args) as client:
            out.table(self._resource(client).list(**query), self.columns)
        return 0

    def create(self, args: argparse.Namespace, out: Output) -> int:
        with client_for(args) as client:
            self._refuse_taken(client, args.name)
            out.record(self._resource(client).create(args.name), self.columns)
        return 0

    def get(self, args: argparse.Namespace, out: Output) -> int:
        with client_for(args) as client:
            out.record(self._resource(client).get(self._id(client, args.id)), self.columns)
        return 0

    def rename(self, args: argparse.Namespace, out: Output) -> int:
        with client_for(args) as client:
            found = self._id(client, args.id)
            self._refuse_taken(client, args.name, but=found)
            out.record(self._resource(client).update(found, name=args.name), self.columns)
        return 0

    def delete(self, args: argparse.Namespace, out: Output) -> int:
        with client_for(args) as client:
            found = self._id(client, args.id)
            self._resource(client).delete(found)
        out.message(f"deleted {self.noun} {found}{self.deleted}", deleted=found)
        return 0


# How `profiles get/rename/delete NAME` words a name that no profile, or several, have.
LOOKUP = Words(
    create_profile="",
    named_profile="",
    by_id="its id instead",
    if_missing="`bu-cdp profiles list` shows them",
    labels={},
)
PROFILES = NamedResource("profiles", "profile", "", by_name=True)
WORKSPACES = NamedResource("workspaces", "workspace", " and its files")


def _unreadable(path: Path) -> str | None:
    """Why ``path`` cannot be uploaded, or None."""
    if path.is_dir():
        return f"{path} is a folder: give the files in it ({path}/*)"
    if not path.exists():
        return f"{path}: no such file"
    if not os.access(path, os.R_OK):
        return f"{path}: not readable"
    return None


def _workspaces_upload(args: argparse.Namespace, out: Output) -> int:
    # All checked before any is sent: a half-done upload is harder to put right than a typo.
    problems = [why for why in map(_unreadable, args.files) if why]
    if problems:
        usage_error(args, "; ".join(problems) + " (nothing was uploaded)")
    uploaded = []
    with client_for(args) as client:
        for path in args.files:
            progress = Progress(f"uploading {path.name}", path.stat().st_size)
            with path.open("rb") as file:
                client.workspaces.upload(
                    args.id, ProgressReader(file, progress), filename=path.name, prefix=args.prefix
                )
            progress.finish(path.stat().st_size)
            uploaded.append((args.prefix or "") + path.name)
    out.message(f"uploaded {len(uploaded)} file(s) to workspace {args.id}", uploaded=uploaded)
    return 0


def _workspaces_files(args: argparse.Namespace, out: Output) -> int:
    with client_for(args) as client:
        out.table(
            client.workspaces.files(args.id, prefix=args.prefix), ("path", "size", "modified_at")
        )
    return 0


def _workspaces_download(args: argparse.Namespace, out: Output) -> int:
    dest = args.dest or "./"
    progress = Progress(f"downloading {args.path}", None)
    with client_for(args) as client:
        written = client.workspaces.download(args.id, args.path, dest, on_progress=progress.update)
    progress.finish(written.stat().st_size)
    out.message(f"saved {args.path} to {written}", path=args.path, saved_to=str(written))
    return 0


def _workspaces_size(args: argparse.Namespace, out: Output) -> int:
    with client_for(args) as client:
        size = client.workspaces.size(args.id)
    out.message(f"{size.bytes} bytes", bytes=size.bytes)
    return 0


# -- billing --------------------------------------------------------------------------------


def _billing_usage(args: argparse.Namespace, out: Output) -> int:
    with client_for(args) as client:
        usage = client.billing.usage()
    out.record(usage)
    days = (usage.model_extra or {}).get("days")
    if days and not out.as_json:
        print()
        out.table(days, ("date", "browser_minutes", "browsers", "sessions", "cost"))
    return 0


def _billing_balance(args: argparse.Namespace, out: Output) -> int:
    with client_for(args) as client:
        out.record(client.billing.balance(), ("balance",))
    return 0


def _billing_account(args: argparse.Namespace, out: Output) -> int:
    with client_for(args) as client:
        out.record(client.billing.account())
    return 0


def _workspaces_delete_file(args: argparse.Namespace, out: Output) -> int:
    with client_for(args) as client:
        client.workspaces.delete_file(args.id, args.path)
    out.message(f"deleted {args.path} from workspace {args.id}", deleted=args.path)
    return 0


def add_parsers(group: Callable[..., Any], command: Callable[..., argparse.ArgumentParser]) -> None:
    """The profiles, workspaces and billing commands, with ``bu_cdp.cli.api``'s helpers."""
    profiles = group("profiles", "browser profiles (cookies and storage kept between browsers)")
    listing = command(profiles, "list", PROFILES.list, "list profiles")
    listing.add_argument("--query", help="only names containing this (any case)")
    command(profiles, "create", PROFILES.create, "create a profile", "name")
    command(profiles, "get", PROFILES.get, "one profile", "id")
    command(profiles, "rename", PROFILES.rename, "rename a profile", "id", "name")
    command(profiles, "delete", PROFILES.delete, "delete a profile", "id")

    workspaces = group("workspaces", "workspaces: files kept on the API's side")
    command(workspaces, "list", WORKSPACES.list, "list workspaces")
    command(workspaces, "create", WORKSPACES.create, "create a workspace", "name")
    command(workspaces, "get", WORKSPACES.get, "one workspace", "id")
    command(workspaces, "rename", WORKSPACES.rename, "rename a workspace", "id", "name")
    command(workspaces, "delete", WORKSPACES.delete, "delete a workspace and its files", "id")
    upload = command(workspaces, "upload", _workspaces_upload, "upload files (streamed)", "id")
    upload.add_argument("files", nargs="+", type=Path, metavar="FILE")
    upload.add_argument("--prefix", help="folder in the workspace, for example data/")
    files = command(workspaces, "files", _workspaces_files, "list a workspace's files", "id")
    files.add_argument("--prefix", help="only files under this folder")
    download = command(
        workspaces, "download", _workspaces_download, "download one file", "id", "path"
    )
    download.add_argument("dest", nargs="?", help="file, or folder ending in / (default: here)")
    command(workspaces, "size", _workspaces_size, "total bytes of a workspace's files", "id")
    command(workspaces, "delete-file", _workspaces_delete_file, "delete one file (hosted)",
            "id", "path")  # fmt: skip

    billing = group("billing", "usage and balance")
    command(billing, "usage", _billing_usage, "browser minutes, browsers, sessions and cost")
    command(billing, "balance", _billing_balance, "credit left")
    command(billing, "account", _billing_account, "credits, plan and rate limit (hosted)")
