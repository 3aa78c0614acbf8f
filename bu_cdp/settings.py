"""Where browsers come from: explicit arguments, then the environment, then the embedded default.

1. ``api_key=`` / ``base_url=`` arguments;
2. ``BROWSER_USE_API_KEY`` (selects the hosted API) and ``BU_CDP_BASE_URL`` (any compatible
   server, for example ``bu-cdp serve`` on another machine);
3. neither given: the embedded local server, started on 127.0.0.1 with a random key. It is
   started by the launcher ``provide_embedded_default`` was given (``bu_cdp/__init__.py`` gives
   ``bu_cdp.embedded``'s), so settings, and the client under it, never import the server's
   launcher: the layers of pyproject's import contracts.

Each target speaks a *dialect* of v3 (``docs/dialects.md``): ``hosted`` for Browser Use's own
hosts (``*.browser-use.com``), ``seed`` for any other URL (a bu-cdp server's ``/api/v3``).
``dialect=`` or ``BU_CDP_API_DIALECT`` (``seed``, ``hosted``, ``auto``) choose otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from bu_cdp.errors import ConfigurationError, NotFoundError
from bu_cdp.wire import API_KEY_HEADER as API_KEY_HEADER  # where it was, for callers of old

HOSTED_BASE_URL = "https://api.browser-use.com/api/v3"
API_KEY_ENV = "BROWSER_USE_API_KEY"
BASE_URL_ENV = "BU_CDP_BASE_URL"
DIALECT_ENV = "BU_CDP_API_DIALECT"
HOSTED_DOMAIN = "browser-use.com"
# Where a bu-cdp server answers each dialect (the server's API_PREFIX and hosted PREFIX).
LOCAL_SEED_PATH = "/api/v3"
LOCAL_HOSTED_PATH = "/hosted/api/v3"

Dialect = Literal["seed", "hosted"]
DIALECTS: tuple[Dialect, ...] = ("seed", "hosted")


@dataclass(frozen=True)
class Target:
    """A resolved API endpoint. The key is kept out of ``repr`` so it never reaches a log."""

    base_url: str
    api_key: str | None = field(repr=False)
    embedded: bool = False
    dialect: Dialect = "seed"


def dialect_of_url(base_url: str) -> Dialect:
    """The dialect ``auto`` picks: hosted for Browser Use's own hosts, seed for any other."""
    host = (urlsplit(base_url).hostname or "").lower().rstrip(".")
    hosted = host == HOSTED_DOMAIN or host.endswith("." + HOSTED_DOMAIN)
    return "hosted" if hosted else "seed"


def choose_dialect(base_url: str, dialect: str | None = None) -> Dialect:
    """``dialect`` (argument), else ``BU_CDP_API_DIALECT``, else ``auto``; a bad value is a
    ValueError naming where it came from."""
    source, raw = "dialect=", dialect
    if raw is None:
        source, raw = DIALECT_ENV, os.environ.get(DIALECT_ENV) or None
    value = (raw or "auto").strip().lower()
    if value == "auto":
        return dialect_of_url(base_url)
    if value not in DIALECTS:
        raise ValueError(f"{source} must be seed, hosted or auto, got {raw!r}")
    return "hosted" if value == "hosted" else "seed"


def configured_target(
    api_key: str | None = None, base_url: str | None = None, dialect: str | None = None
) -> Target | None:
    """The API that arguments and environment choose (1 and 2 above), or None when they choose
    none. Starts nothing."""
    api_key = api_key or os.environ.get(API_KEY_ENV) or None
    named = "base_url" if base_url else BASE_URL_ENV
    base_url = base_url or os.environ.get(BASE_URL_ENV) or None
    if api_key is None and base_url is None:
        choose_dialect("", dialect)  # a bad value is an error here too
        return None
    if base_url is not None:
        check_base_url(base_url, named)
    url = (base_url or HOSTED_BASE_URL).rstrip("/")
    return Target(url, api_key, dialect=choose_dialect(url, dialect))


def check_base_url(url: str, named: str) -> None:
    """An API's address is http(s)://host[:port]/path; ``named`` is where it was given."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"{named}={url!r} is not an API address: give one like "
            "http://127.0.0.1:8777/api/v3 (or https://api.browser-use.com/api/v3)"
        )


# Starts (on first use) the embedded local server and says where its seed face answers.
EmbeddedLauncher = Callable[[], Target]
_embedded_launcher: EmbeddedLauncher | None = None


def provide_embedded_default(launcher: EmbeddedLauncher) -> None:
    """Set what starts the embedded default (the package's root sets ``bu_cdp.embedded``'s)."""
    global _embedded_launcher
    _embedded_launcher = launcher


def resolve_target(
    api_key: str | None = None, base_url: str | None = None, dialect: str | None = None
) -> Target:
    """The API to use: the configured one, else the embedded local server (started now)."""
    target = configured_target(api_key, base_url, dialect)
    if target is not None:
        return target
    if _embedded_launcher is None:
        raise ConfigurationError(
            f"no API is configured ({API_KEY_ENV} or {BASE_URL_ENV}) and no embedded default "
            "was provided: import bu_cdp, or set one of them"
        )
    server = _embedded_launcher()
    chosen = choose_dialect(server.base_url, dialect)
    url = server.base_url
    if chosen == "hosted":  # the same server's hosted face
        url = url.removesuffix(LOCAL_SEED_PATH) + LOCAL_HOSTED_PATH
    return Target(url, server.api_key, embedded=True, dialect=chosen)


def missing_api_path(error: BaseException, base_url: str | None, flag: str) -> str | None:
    """For a 404 "Not Found" from a server whose address does not end in /api/v3 (the usual
    slip: ``http://host:8777`` for ``http://host:8777/api/v3``), what to write instead.
    ``base_url`` is the one given as an argument (``flag`` names it), else the environment's."""
    named = flag if base_url else BASE_URL_ENV
    url = (base_url or os.environ.get(BASE_URL_ENV) or "").rstrip("/")
    said = error.message.strip() if isinstance(error, NotFoundError) else ""
    if not (url and (said == "Not Found" or said.endswith(": Not Found"))):
        return None
    if urlsplit(url).path.endswith("/api/v3"):
        return None
    return (
        f"{url} answers 404 Not Found: the v3 API is at an address ending in /api/v3; "
        f"set {named} to {url}/api/v3"
    )
