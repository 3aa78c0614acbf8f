"""The ``bu-cdp`` command."""

from __future__ import annotations

import argparse
import os
import secrets
import sys

from bu_cdp import __version__
from bu_cdp.errors import BuCdpError

SERVER_KEY_ENV = "BU_CDP_SERVER_API_KEY"


def _serve(args: argparse.Namespace) -> int:
    from bu_cdp.server.config import ServerConfig, default_max_browsers
    from bu_cdp.server.serve import serve

    api_key = args.api_key or os.environ.get(SERVER_KEY_ENV)
    if not api_key:
        api_key = secrets.token_urlsafe(24)
        print(f"bu-cdp: no --api-key given; this run's key is {api_key}", file=sys.stderr)
    config = ServerConfig(
        api_key=api_key,
        host=args.host,
        port=args.port,
        chromium=args.chromium,
        max_browsers=args.max_browsers or default_max_browsers(),
        queue_timeout=args.queue_timeout,
        max_queued=args.max_queued,
        warm=args.warm,
        cdp_relay=args.cdp_relay,
    )
    if args.test_minute_seconds is not None:
        config.minute_seconds = args.test_minute_seconds
        print(
            f"bu-cdp: TEST SETTING: one API minute lasts {args.test_minute_seconds:g}s",
            file=sys.stderr,
        )
    print(f"bu-cdp: serving the v3 API at http://{args.host}:{args.port}/api/v3", file=sys.stderr)
    serve(config)
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


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
        "--max-browsers",
        type=_positive_int,
        default=None,
        metavar="N",
        help="browsers that may run at once; more creates queue, then get 429 "
        "(default: about 4 per core, at most 2 per GiB of memory)",
    )
    serve.add_argument(
        "--queue-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how long a create waits for a free slot before 429 (default 10)",
    )
    serve.add_argument(
        "--max-queued",
        type=int,
        default=32,
        metavar="N",
        help="creates that may wait at once; past it, 429 at once (default 32)",
    )
    serve.add_argument(
        "--warm",
        type=int,
        default=0,
        metavar="N",
        help="keep N plain browsers launched ahead, for fast creates (default 0)",
    )
    serve.add_argument(
        "--chromium",
        default=None,
        metavar="PATH",
        help="the Chromium to run (default: $BU_CDP_CHROMIUM, Playwright's, then PATH)",
    )
    serve.add_argument(
        "--test-minute-seconds",
        type=float,
        default=None,
        metavar="SECONDS",
        help="TEST SETTING: real seconds in one API minute, to watch timeouts quickly",
    )
    serve.add_argument(
        "--cdp-relay",
        choices=("splice", "asgi"),
        default="splice",
        help="how CDP websockets reach Chromium: sockets joined after the token check "
        "(default, fastest) or frame by frame through the ASGI app",
    )
    serve.set_defaults(run=_serve)
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
