"""Where browsers come from: explicit arguments, then the environment, then the embedded default.

1. ``api_key=`` / ``base_url=`` arguments;
2. ``BROWSER_USE_API_KEY`` (selects the hosted API) and ``BU_CDP_BASE_URL`` (any compatible
   server, for example ``bu-cdp serve`` on another machine);
3. neither given: the embedded local server, started in-process on 127.0.0.1 with a random key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

HOSTED_BASE_URL = "https://api.browser-use.com/api/v3"
API_KEY_ENV = "BROWSER_USE_API_KEY"
BASE_URL_ENV = "BU_CDP_BASE_URL"
API_KEY_HEADER = "X-Browser-Use-API-Key"


@dataclass(frozen=True)
class Target:
    """A resolved API endpoint. The key is kept out of ``repr`` so it never reaches a log."""

    base_url: str
    api_key: str | None = field(repr=False)
    embedded: bool = False


def configured_target(api_key: str | None = None, base_url: str | None = None) -> Target | None:
    """The API that arguments and environment choose (1 and 2 above), or None when they choose
    none. Starts nothing."""
    api_key = api_key or os.environ.get(API_KEY_ENV) or None
    base_url = base_url or os.environ.get(BASE_URL_ENV) or None
    if api_key is None and base_url is None:
        return None
    return Target((base_url or HOSTED_BASE_URL).rstrip("/"), api_key)


def resolve_target(api_key: str | None = None, base_url: str | None = None) -> Target:
    """The API to use: the configured one, else the embedded local server (started here)."""
    target = configured_target(api_key, base_url)
    if target is None:
        from bu_cdp.embedded import embedded_target  # starts the local server on first use

        return embedded_target()
    return target
