"""``bu-cdp browsers|profiles|workspaces|billing ...``: the v3 API from the shell.

Each command is a thin function over ``BrowserUse``: parse, call, print. The API key comes from
``BROWSER_USE_API_KEY`` only, never from the command line (other local users can read that);
the dialect from ``BU_CDP_API_DIALECT`` (auto by default: hosted for Browser Use's hosts).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from bu_cdp import _exits
from bu_cdp._effects import run_sync
from bu_cdp.cli.output import Output, Progress, ProgressReader, Waiting
from bu_cdp.client import BrowserUse
from bu_cdp.errors import ConfigurationError
from bu_cdp.leaks import stop_leaked
from bu_cdp.ledger import ledger_path
from bu_cdp.options import (
    FLAGS,
    MAX_TIMEOUT_MINUTES,
    BrowserPlan,
    Words,
    minutes_from_text,
    plan_browser,
    screen_from_text,
)
from bu_cdp.profile_lookup import create_fields, profile_id_for
from bu_cdp.settings import API_KEY_ENV, check_base_url, configured_target

BROWSER_FIELDS = ("id", "status", "cdp_url", "live_url", "recording_url", "reason")


def _screen(text: str) -> tuple[int, int]:
    try:
        return screen_from_text(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _minutes(text: str) -> int:
    try:
        return minutes_from_text(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def base_url(text: str) -> str:
    """An argparse type: ``--base-url``, an API's address."""
    try:
        check_base_url(text, "--base-url")
    except ConfigurationError as exc:
        raise argparse.ArgumentTypeError(
            str(exc).replace(f"--base-url={text!r}", repr(text))
        ) from None
    return text


def client_for(args: argparse.Namespace) -> BrowserUse:
    return BrowserUse(base_url=args.base_url)


def usage_error(args: argparse.Namespace, message: str) -> NoReturn:
    """Exit with status 2 and the command's usage, as argparse does for its own checks."""
    args.usage_error(message)
    raise AssertionError("unreachable: parser.error exits")


def browser_plan(args: argparse.Namespace) -> BrowserPlan:
    """The browser options shared by ``browsers create`` and ``open``, checked as
    ``RemoteBrowser`` checks them (``bu_cdp.options``); a mistake is a usage error."""
    try:
        return plan_browser(
            "bu-cdp",
            {
                "profile": args.profile,
                "create_profile": args.create_profile,
                "screen": args.screen,
                "timeout": args.timeout,
                "proxy_country_code": args.proxy_country,
                "enable_recording": args.recording,
            },
            FLAGS,
        )
    except (TypeError, ValueError) as exc:
        usage_error(args, str(exc).removeprefix("bu-cdp(): "))


def browser_fields(client: BrowserUse, plan: BrowserPlan) -> dict[str, Any]:
    """The create request's fields for ``plan``, a profile name looked up on ``client``."""
    return run_sync(create_fields(client, plan))


def add_browser_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", metavar="ID|NAME", help="a profile, by id or by name")
    parser.add_argument(
        "--create-profile", action="store_true", help="create the --profile name if missing"
    )
    parser.add_argument("--screen", type=_screen, metavar="WxH", help="for example 1280x720")
    parser.add_argument(
        "--timeout",
        type=_minutes,
        metavar="MIN",
        help=f"server-side lifetime, 1 to {MAX_TIMEOUT_MINUTES} minutes",
    )
    parser.add_argument("--proxy-country", metavar="CODE", help="proxy country code, e.g. us")
    parser.add_argument("--recording", action="store_true", help="record the browser's screen")


# -- browsers -------------------------------------------------------------------------------


def _browsers_create(args: argparse.Namespace, out: Output) -> int:
    plan = browser_plan(args)
    with client_for(args) as client:
        if client.target.embedded:
            raise ConfigurationError(
                "no API is configured, and a browser of this command's own embedded server "
                "would stop when the command ends: use `bu-cdp open`, or run `bu-cdp serve` and "
                "set BU_CDP_BASE_URL and BROWSER_USE_API_KEY"
            )
        with Waiting("creating a browser"):
            browser = client.browsers.create(**browser_fields(client, plan))
        # In the ledger, left running on purpose (it outlives this command), so that
        # `browsers stop --leaked --include-kept` finds it if its id is lost.
        _exits.created(client.target, str(browser.id))
        _exits.kept(client.target, str(browser.id))
        out.record(browser, BROWSER_FIELDS)
    return 0


def _browsers_list(args: argparse.Namespace, out: Output) -> int:
    if configured_target(base_url=args.base_url) is None:  # checked before starting anything
        raise ConfigurationError(
            "no API is configured, so there are no browsers to list (a server started for "
            "this command would have none): set BU_CDP_BASE_URL (and BROWSER_USE_API_KEY), "
            "or pass --base-url"
        )
    with client_for(args) as client:
        browsers = client.browsers.list(status=None if args.all else "active")
        out.table(browsers, ("id", "status", "created_at", "live_url"))
    return 0


def _browsers_get(args: argparse.Namespace, out: Output) -> int:
    with client_for(args) as client:
        out.record(client.browsers.get(args.id), BROWSER_FIELDS)
    return 0


def _browsers_stop(args: argparse.Namespace, out: Output) -> int:
    if args.leaked:
        if args.id:
            usage_error(args, "give a browser ID or --leaked, not both")
        return _stop_leaked(args, out)
    if not args.id:
        usage_error(args, "give a browser ID, or --leaked")
    if args.include_kept or args.dry_run or args.all_servers:
        usage_error(args, "--include-kept, --dry-run and --all-servers go with --leaked")
    with client_for(args) as client:
        with Waiting(f"stopping browser {args.id}"):
            browser = client.browsers.stop(args.id)
        _exits.stopped(client.target.base_url, args.id)
    out.record(browser, BROWSER_FIELDS)
    return 0


def _stop_leaked(args: argparse.Namespace, out: Output) -> int:
    where = ledger_path()
    if where is None:
        out.message("the browser ledger is off (BU_CDP_LEDGER=off): nothing to look at")
        return 0
    # The configured server only (no embedded one is started for this), with its key.
    target = configured_target(base_url=args.base_url)
    outcomes = stop_leaked(
        base_url=target.base_url if target else None,
        api_key=target.api_key if target else None,
        all_servers=args.all_servers,
        include_kept=args.include_kept,
        dry_run=args.dry_run,
    )
    stopped = sum(o.action in ("stopped", "would stop") for o in outcomes)
    elsewhere = sum(o.action == "another server" for o in outcomes)
    verb = "would stop" if args.dry_run else "stopped"
    rows = [
        {"action": o.action, "id": o.entry.id, "base_url": o.entry.base_url, "detail": o.detail}
        for o in outcomes
    ]
    if out.as_json:
        out.message(
            "", browsers=rows, ledger=str(where), server=target.base_url if target else None
        )
    else:
        for row in rows:
            print(f"{row['action']:<14} {row['id']}  {row['base_url']}  ({row['detail']})")
        print(f"bu-cdp: {verb} {stopped} leaked browser(s); ledger: {where}")
        if elsewhere:
            print(
                f"bu-cdp: {elsewhere} browser(s) of other servers left alone "
                "(--base-url URL for one of them, or --all-servers)"
            )
    if any(o.failed for o in outcomes):
        if target is None or not target.api_key:
            print(f"bu-cdp: no API key: set ${API_KEY_ENV}", file=sys.stderr)
        return 1
    return 0


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


# -- the parsers ----------------------------------------------------------------------------


def add_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    def group(name: str, help: str) -> Any:
        parser = commands.add_parser(name, help=help)
        return parser.add_subparsers(dest=f"{name}_command", required=True, metavar="COMMAND")

    def command(sub: Any, name: str, run: Any, help: str, *args: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = sub.add_parser(name, help=help, parents=[common])
        for arg in args:
            parser.add_argument(arg)
        parser.set_defaults(run=run, usage_error=parser.error)
        return parser

    browsers = group("browsers", "create, look at and stop browsers")
    create = command(browsers, "create", _browsers_create, "create a browser (on a server)")
    add_browser_options(create)
    listing = command(browsers, "list", _browsers_list, "the browsers running on the API")
    listing.add_argument("--all", action="store_true", help="stopped ones too, not only active")
    command(browsers, "get", _browsers_get, "a browser's status and addresses", "id")
    stop = command(browsers, "stop", _browsers_stop, "stop a browser, or the leaked ones")
    stop.add_argument("id", nargs="?", help="the browser to stop")
    stop.add_argument(
        "--leaked",
        action="store_true",
        help="stop the browsers this machine's programs created and left running when they "
        "crashed or were killed (from the ledger of created browsers)",
    )
    stop.add_argument(
        "--include-kept", action="store_true", help="with --leaked: also keep_alive ones"
    )
    stop.add_argument(
        "--dry-run", action="store_true", help="with --leaked: only say what would stop"
    )
    stop.add_argument(
        "--all-servers",
        action="store_true",
        help="with --leaked: also the ledger's other servers, not only the configured one "
        "(the key is sent to them only over https or on this machine)",
    )

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
