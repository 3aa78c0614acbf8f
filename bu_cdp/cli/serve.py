"""``bu-cdp serve``: the local API server in the foreground."""

from __future__ import annotations

import argparse
import math
import os
import secrets
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from bu_cdp.errors import ConfigurationError

if TYPE_CHECKING:
    from bu_cdp.server.config import ServerConfig

SERVER_KEY_ENV = "BU_CDP_SERVER_API_KEY"


def server_config(args: argparse.Namespace) -> ServerConfig:
    """The server's settings from ``serve``'s flags (and the environment they fall back on)."""
    from bu_cdp.server.chromium import isolation
    from bu_cdp.server.config import ServerConfig, default_max_browsers

    proxies = _proxies(args)  # a mistake there ends the start before a key is made up
    isolation.wanted()  # BU_CDP_ISOLATION, likewise
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
        proxies=proxies,
        data_dir=args.data_dir,
        price_per_browser_hour=args.price_per_hour,
        credit=args.credit,
        # The LLM's key comes from the environment only (BU_CDP_AGENT_API_KEY).
        agent_base_url=args.agent_base_url,
        agent_model=args.agent_model,
    )
    if args.max_upload_bytes is not None:
        config.max_upload_bytes = args.max_upload_bytes
    if args.test_minute_seconds is not None:
        config.minute_seconds = args.test_minute_seconds
        print(
            f"bu-cdp: TEST SETTING: one API minute lasts {args.test_minute_seconds:g}s",
            file=sys.stderr,
        )
    return config


def _serve(args: argparse.Namespace) -> int:
    from bu_cdp.server.serve import serve

    config = server_config(args)
    serve(config, listening=_say_serving)
    return 0


def _say_serving(base_url: str) -> None:
    from bu_cdp.server.api.routes.hosted import PREFIX
    from bu_cdp.server.app import API_PREFIX
    from bu_cdp.server.chromium.isolation import status

    print(f"bu-cdp: serving the v3 API at {base_url}", file=sys.stderr, flush=True)
    hosted = base_url.removesuffix(API_PREFIX) + PREFIX
    print(
        f"bu-cdp: serving the hosted dialect (official SDK) at {hosted}",
        file=sys.stderr,
        flush=True,
    )
    isolation = status()
    warning = "" if isolation.separate_users else "WARNING: "
    print(f"bu-cdp: {warning}{isolation.describe()}", file=sys.stderr, flush=True)


def _proxies(args: argparse.Namespace) -> dict[str, str]:
    """The country map: the file, then $BU_CDP_PROXIES, then --proxy flags, later ones winning."""
    from bu_cdp.server.proxies.selection import (
        PROXIES_ENV,
        country_upstreams,
        parse_proxy_map,
        proxies_from_env,
        proxies_from_file,
    )

    proxies: dict[str, str] = {}
    for source, found in (
        (str(args.proxy_file), proxies_from_file(args.proxy_file) if args.proxy_file else {}),
        (PROXIES_ENV, proxies_from_env()),
        ("--proxy", parse_proxy_map(args.proxy or [], "--proxy")),
    ):
        for code in found:
            _country_code(code, source)
        proxies.update(found)
    if proxies:  # checked now, so a bad URL stops the server before it says it serves
        codes = ", ".join(sorted(country_upstreams(proxies)))
        print(f"bu-cdp: upstream proxies for country codes: {codes}", file=sys.stderr)
    return proxies


def _number(kind: type[int] | type[float], low: float, high: float | None = None) -> Any:
    """An argparse type: a whole number (``int``) or any number (``float``) from ``low`` to
    ``high``; the message says the range, as a flag's value is read and fixed."""
    what = "a whole number" if kind is int else "a number"
    wanted = (
        f"{what} from {low:g} to {high:g}" if high is not None else f"{what} of {low:g} or more"
    )

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}") from None
        if not (math.isfinite(value) and low <= value and (high is None or value <= high)):
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}")
        return value

    return parse


_positive_int = _number(int, 1)
_count = _number(int, 0)
_seconds = _number(float, 0)
_port = _number(int, 0, 65535)


def _country_code(code: str, source: str) -> None:
    """A code a create can ask for: the server's rule for ``proxy_country_code``."""
    from bu_cdp.server.shared.schemas import BrowserCreateRequest

    try:
        BrowserCreateRequest.model_validate({"proxy_country_code": code})
    except ValidationError:
        raise ConfigurationError(
            f"{source}: {code!r} is not a country code: 2 to 8 letters, digits, '-' or '_', "
            "starting with 2 letters (for example us)"
        ) from None


def add_parser(commands: Any) -> None:
    serve = commands.add_parser(
        "serve",
        help="run the local API server with real Chromium",
        description="Serve the Browser Use v3 API at http://HOST:PORT/api/v3 (and its hosted "
        "dialect, for the official SDK, at http://HOST:PORT/hosted/api/v3), with real "
        "Chromium for every browser. Ctrl-C or SIGTERM stops it and every browser it started.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    serve.add_argument(
        "--port",
        type=_port,
        default=8777,
        help="port to listen on, 0 for any free one (default 8777)",
    )
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
        type=_number(float, 0),
        default=0.0,
        help="billing: price of one browser-hour (default 0)",
    )
    serve.add_argument(
        "--credit",
        type=_number(float, 0),
        default=None,
        help="billing: credit; once browsers have cost this much, creating one answers 402 "
        "(default: no limit)",
    )
    serve.add_argument(
        "--max-upload-bytes",
        type=_positive_int,
        default=None,
        help="largest workspace upload, in bytes (default 1 GiB)",
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
        type=_seconds,
        default=10.0,
        metavar="SECONDS",
        help="how long a create waits for a free slot before 429 (default 10)",
    )
    serve.add_argument(
        "--max-queued",
        type=_count,
        default=32,
        metavar="N",
        help="creates that may wait at once; past it, 429 at once (default 32)",
    )
    serve.add_argument(
        "--warm",
        type=_count,
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
        type=_number(float, 0.001),
        default=None,
        metavar="SECONDS",
        help="TEST SETTING: real seconds in one API minute, to watch timeouts quickly",
    )
    serve.add_argument(
        "--agent-base-url",
        default=None,
        metavar="URL",
        help="agent sessions: an OpenAI-compatible /v1 URL, such as http://127.0.0.1:11434/v1 "
        "for Ollama (default: $BU_CDP_AGENT_BASE_URL; its key: $BU_CDP_AGENT_API_KEY; "
        "needs bu-cdp[agent]; see docs/agent-sessions.md)",
    )
    serve.add_argument(
        "--agent-model",
        default=None,
        metavar="NAME",
        help="agent sessions: the model to ask at --agent-base-url (default: $BU_CDP_AGENT_MODEL)",
    )
    serve.set_defaults(run=_serve, usage_error=serve.error)
