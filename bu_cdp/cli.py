"""The ``bu-cdp`` command."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bu_cdp import __version__
from bu_cdp.errors import BuCdpError

if TYPE_CHECKING:
    from bu_cdp.server.config import ServerConfig

SERVER_KEY_ENV = "BU_CDP_SERVER_API_KEY"


def apply_storage_flags(config: ServerConfig, args: argparse.Namespace) -> None:
    """The data folder, billing and upload flags of ``serve``, onto the server's settings."""
    config.data_dir = args.data_dir
    config.price_per_browser_hour = args.price_per_hour
    config.credit = args.credit
    if args.max_upload_bytes is not None:
        config.max_upload_bytes = args.max_upload_bytes


def _serve(args: argparse.Namespace) -> int:
    from bu_cdp.server.config import ServerConfig
    from bu_cdp.server.serve import serve

    api_key = args.api_key or os.environ.get(SERVER_KEY_ENV)
    if not api_key:
        api_key = secrets.token_urlsafe(24)
        print(f"bu-cdp: no --api-key given; this run's key is {api_key}", file=sys.stderr)
    config = ServerConfig(api_key=api_key, host=args.host, port=args.port, proxies=_proxies(args))
    apply_storage_flags(config, args)
    print(f"bu-cdp: serving the v3 API at http://{args.host}:{args.port}/api/v3", file=sys.stderr)
    serve(config)
    return 0


def _proxies(args: argparse.Namespace) -> dict[str, str]:
    """The country map: the file, then $BU_CDP_PROXIES, then --proxy flags, later ones winning."""
    from bu_cdp.server.proxy import (
        country_upstreams,
        parse_proxy_map,
        proxies_from_env,
        proxies_from_file,
    )

    proxies = proxies_from_file(args.proxy_file) if args.proxy_file else {}
    proxies.update(proxies_from_env())
    proxies.update(parse_proxy_map(args.proxy or [], "--proxy"))
    if proxies:  # checked now, so a bad URL stops the server before it says it serves
        codes = ", ".join(sorted(country_upstreams(proxies)))
        print(f"bu-cdp: upstream proxies for country codes: {codes}", file=sys.stderr)
    return proxies


def _stop_leaked(args: argparse.Namespace) -> int:
    from bu_cdp.ledger import ledger_path, stop_leaked
    from bu_cdp.settings import API_KEY_ENV

    if not args.leaked:
        print("bu-cdp: say what to stop: --leaked", file=sys.stderr)
        return 2
    where = ledger_path()
    if where is None:
        print("bu-cdp: the browser ledger is off (BU_CDP_LEDGER=off): nothing to look at")
        return 0
    api_key = args.api_key or os.environ.get(API_KEY_ENV)
    outcomes = stop_leaked(
        api_key=api_key,
        base_url=args.base_url,
        include_kept=args.include_kept,
        dry_run=args.dry_run,
    )
    for o in outcomes:
        print(f"{o.action:<12} {o.entry.id}  {o.entry.base_url}  ({o.detail})")
    stopped = sum(o.action in ("stopped", "would stop") for o in outcomes)
    verb = "would stop" if args.dry_run else "stopped"
    print(f"bu-cdp: {verb} {stopped} leaked browser(s); ledger: {where}")
    if any(o.failed for o in outcomes):
        if not api_key:
            print(f"bu-cdp: no API key: set ${API_KEY_ENV} or pass --api-key", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bu-cdp", description="Remote Chromium over CDP, through the Browser Use v3 API."
    )
    parser.add_argument("--version", action="version", version=f"bu-cdp {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the local API server with real Chromium")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    serve.add_argument("--port", type=int, default=8777, help="port to listen on (default 8777)")
    serve.add_argument(
        "--api-key",
        default=None,
        help=f"key clients must send (default: ${SERVER_KEY_ENV}, else a random one, printed)",
    )
    serve.add_argument(
        "--proxy",
        action="append",
        metavar="CODE=URL",
        help="upstream proxy for browsers created with proxy_country_code=CODE, for example "
        "us=http://user:password@proxy.example:8080 (repeatable; also $BU_CDP_PROXIES). "
        "A command line is visible to other local users: keep passwords in --proxy-file",
    )
    serve.add_argument(
        "--proxy-file",
        type=Path,
        metavar="PATH",
        help='TOML (us = "http://...") or .json file mapping country codes to proxy URLs',
    )
    serve.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="folder for profiles, workspaces and billing "
        "(default: $BU_CDP_HOME, else ~/.local/share/bu-cdp or the platform's equivalent)",
    )
    serve.add_argument(
        "--price-per-hour",
        type=float,
        default=0.0,
        help="billing: price of one browser-hour (default 0)",
    )
    serve.add_argument(
        "--credit",
        type=float,
        default=None,
        help="billing: credit; once browsers have cost this much, creating one answers 402 "
        "(default: no limit)",
    )
    serve.add_argument(
        "--max-upload-bytes",
        type=int,
        default=None,
        help="largest workspace upload, in bytes (default 1 GiB)",
    )
    serve.set_defaults(run=_serve)

    browsers = commands.add_parser("browsers", help="browsers created from this machine")
    browser_commands = browsers.add_subparsers(dest="browsers_command", required=True)
    stop = browser_commands.add_parser(
        "stop",
        help="stop browsers left running by programs that crashed or were killed",
        description="Stop the browsers in this machine's ledger whose program is gone and "
        "that are still active. The API key comes from --api-key or $BROWSER_USE_API_KEY.",
    )
    stop.add_argument(
        "--leaked", action="store_true", help="the browsers whose creating program is gone"
    )
    stop.add_argument(
        "--include-kept", action="store_true", help="also those left running with keep_alive"
    )
    stop.add_argument("--base-url", default=None, help="only browsers of this API base URL")
    stop.add_argument("--api-key", default=None, help="API key (default: $BROWSER_USE_API_KEY)")
    stop.add_argument("--dry-run", action="store_true", help="say what would be stopped")
    stop.set_defaults(run=_stop_leaked)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except BuCdpError as exc:
        print(f"bu-cdp: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
