"""``bu-cdp browsers ...`` (and, through ``resource_commands``, profiles, workspaces and
billing): the v3 API from the shell.

Each command is a thin function over ``BrowserUse``: parse, call, print. The API key comes from
``BROWSER_USE_API_KEY`` only, never from the command line (other local users can read that);
the dialect from ``BU_CDP_API_DIALECT`` (auto by default: hosted for Browser Use's hosts).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bu_cdp import _exits
from bu_cdp.cli import resource_commands
from bu_cdp.cli.output import Output, Waiting
from bu_cdp.cli.shared import client_for, usage_error
from bu_cdp.client import BrowserUse
from bu_cdp.effects import run_sync
from bu_cdp.errors import ConfigurationError
from bu_cdp.leaks import stop_leaked
from bu_cdp.ledger import ledger_path
from bu_cdp.options import (
    FLAGS,
    MAX_TIMEOUT_MINUTES,
    BrowserPlan,
    minutes_from_text,
    plan_browser,
    screen_from_text,
)
from bu_cdp.profile_lookup import create_fields
from bu_cdp.settings import API_KEY_ENV, configured_target

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
    resource_commands.add_parsers(group, command)
