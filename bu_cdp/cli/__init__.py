"""The ``bu-cdp`` command: one parser, a module per group of commands.

An error is one line on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys

from pydantic import ValidationError

from bu_cdp.cli import api, doctor, open_browser, serve, shared
from bu_cdp.cli.output import Output
from bu_cdp.errors import BuCdpError
from bu_cdp.settings import missing_api_path
from bu_cdp.wire import VERSION as __version__


def build_parser() -> argparse.ArgumentParser:
    # Options every API command takes, after its name: `bu-cdp profiles list --json`.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="answer in JSON, for scripts")
    common.add_argument(
        "--base-url",
        default=None,
        type=shared.base_url,
        help="the API (default: $BU_CDP_BASE_URL, else the hosted API with $BROWSER_USE_API_KEY, "
        "else an embedded local server); the key always comes from $BROWSER_USE_API_KEY",
    )

    parser = argparse.ArgumentParser(
        prog="bu-cdp",
        description="Remote Chromium over CDP, through the Browser Use Cloud API v3 "
        "or bu-cdp's own local server.",
    )
    parser.add_argument("--version", action="version", version=f"bu-cdp {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve.add_parser(commands)
    doctor.add_parser(commands, common)
    open_browser.add_parser(commands, common)
    api.add_parsers(commands, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # said with the usage of the command they were given to, not the top level's
        getattr(args, "usage_error", parser.error)(f"unrecognized arguments: {' '.join(unknown)}")
    out = Output(as_json=getattr(args, "json", False))
    try:
        code = int(args.run(args) if args.command == "serve" else args.run(args, out))
        sys.stdout.flush()  # a reader that went away (`| head -1`) shows up here, not at exit
        return code
    except BrokenPipeError:
        # Nobody reads the rest, as when a command's output is cut short by `head`: quiet,
        # and stdout pointed at nothing so that the flush at exit cannot complain either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # the shell's status for a program ended by SIGPIPE
    except (BuCdpError, ValidationError, ValueError, TypeError, OSError) as exc:
        hint = missing_api_path(exc, getattr(args, "base_url", None), "--base-url")
        print(f"bu-cdp: error: {hint or _one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
