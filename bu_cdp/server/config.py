"""Settings of the local server, with defaults fit for the machine it runs on."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def default_max_browsers() -> int:
    """About four headless browsers per core, and no more than two per GiB of memory."""
    cpus = os.cpu_count() or 1
    try:
        mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        mem_gib = 4.0
    return max(1, min(4 * cpus, int(mem_gib * 2)))


@dataclass
class ServerConfig:
    api_key: str = field(repr=False)  # a secret: never in a repr or a log
    host: str = "127.0.0.1"
    port: int = 8777
    chromium: str | None = None  # path; None finds one (see chromium.find_chromium)
    max_browsers: int = field(default_factory=default_max_browsers)
    queue_timeout: float = 10.0  # seconds a create waits for a free slot before 429
    max_queued: int = 32  # creates that may wait at once; past it, 429 at once
    warm: int = 0  # pre-launched plain browsers kept ready
    # How many the pool launches in all (None: no end): the embedded default under a test
    # run that reuses one browser wants its first one early, and no other.
    warm_launches: int | None = None
    launch_timeout: float = 30.0
    default_timeout_minutes: int = 60
    # TEST SETTING, not for production: how many real seconds one API "minute" lasts
    # (browser timeouts, billing), so tests can watch a timeout happen in a second.
    minute_seconds: float = 60.0
    data_dir: Path | None = None  # None: BU_CDP_HOME or the platform's user data folder
    public_url: str | None = None  # base URL clients reach the server at, if not the request's
    # Country code -> upstream proxy URL ("us": "http://user:pass@host:port"), for browsers
    # created with proxy_country_code; see docs/proxies.md.
    proxies: dict[str, str] = field(default_factory=dict, repr=False)  # URLs hold passwords
    proxy_connect_timeout: float = 10.0  # seconds to reach an upstream proxy before a page fails
    price_per_browser_hour: float = 0.0  # billing: cost of one browser-hour
    credit: float | None = None  # billing: None is no limit; used up, creating answers 402
    max_upload_bytes: int = 1 << 30  # largest workspace upload (file bytes of one request)
    # Where finished recordings are kept. None: <the data folder>/recordings.
    recordings_dir: Path | None = None
    # Agent sessions' LLM (docs/agent-sessions.md): an OpenAI-compatible /v1 URL and a model;
    # None falls back on BU_CDP_AGENT_BASE_URL / _MODEL / _API_KEY, then provider keys.
    agent_base_url: str | None = None
    agent_model: str | None = None
    agent_api_key: str | None = field(default=None, repr=False)  # a secret
