"""Which upstream proxy a browser goes through: the server's country map, or the request's own.

The map comes from ``bu-cdp serve --proxy CODE=URL``, ``BU_CDP_PROXIES`` or ``--proxy-file``
(``ServerConfig.proxies``). ``ProxyHooks`` gives every proxied browser its own forwarder
(``forwarder.py``), so no credential ever reaches Chromium's command line.
"""

from __future__ import annotations

import json
import logging
import os
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bu_cdp.errors import ConfigurationError
from bu_cdp.server.browsers.hooks import BrowserHooks
from bu_cdp.server.browsers.record import ManagedBrowser
from bu_cdp.server.chromium.launch import LaunchPlan
from bu_cdp.server.proxies.forwarder import ProxyForwarder
from bu_cdp.server.proxies.upstream import Upstream
from bu_cdp.server.shared.problems import invalid
from bu_cdp.server.shared.schemas import BrowserCreateRequest

log = logging.getLogger("bu_cdp.server.proxy")

PROXIES_ENV = "BU_CDP_PROXIES"
SUPPORTED_SCHEMES = ("http",)
# Chromium skips the proxy for loopback addresses unless this removes that implicit rule;
# without it a page on 127.0.0.1 would quietly go direct.
BYPASS_NOTHING = "--proxy-bypass-list=<-loopback>"


URL_FORM = (
    "write http://[user:password@]host:port, with any ':', '/', '@' or '%' in the user "
    "or password percent-encoded (%3A, %2F, %40, %25)"
)


def parse_proxy_url(url: str) -> Upstream:
    """``http://user:pass@host:port`` as an ``Upstream``.

    Error messages never quote the URL or any part of it: a mistyped URL can put a piece of
    the password where the host or port should be.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise ValueError(f"not a valid proxy URL: {URL_FORM}") from None
    scheme = parts.scheme.lower()
    if scheme not in SUPPORTED_SCHEMES:
        shown = f"'{scheme}'" if scheme.isalnum() else "none"
        raise ValueError(f"scheme {shown} is not supported (only http): {URL_FORM}")
    if not parts.hostname:
        raise ValueError(f"the proxy URL has no host: {URL_FORM}")
    if port is None:
        raise ValueError(f"the proxy URL has no port: {URL_FORM}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"the proxy URL must not have a path or query: {URL_FORM}")
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return Upstream(parts.hostname, port, username, password)


def parse_proxy_map(entries: Iterable[str], source: str) -> dict[str, str]:
    """``CODE=URL`` entries (from flags or the environment) as a map of lowercase codes."""
    found: dict[str, str] = {}
    for entry in entries:
        code, sep, url = entry.strip().partition("=")
        if not sep or not code.strip() or not url.strip():
            raise ConfigurationError(
                f"{source}: each proxy must be written CODE=URL, for example "
                "us=http://user:password@proxy.example:8080"
            )
        found[code.strip().lower()] = url.strip()
    return found


def proxies_from_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``BU_CDP_PROXIES="us=http://...,de=http://..."`` (commas or whitespace between)."""
    value = (os.environ if environ is None else environ).get(PROXIES_ENV, "")
    entries = value.replace(",", " ").split()
    return parse_proxy_map(entries, PROXIES_ENV)


def proxies_from_file(path: Path) -> dict[str, str]:
    """A TOML (``us = "http://..."``) or JSON (``{"us": "http://..."}``) file of proxies."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigurationError(f"cannot read the proxy file {path}: {exc.strerror}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"the proxy file {path} is not valid: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ConfigurationError(
            f"the proxy file {path} must map country codes to proxy URLs, "
            'for example: us = "http://user:password@proxy.example:8080"'
        )
    return {code.strip().lower(): url for code, url in data.items()}


def country_upstreams(proxies: Mapping[str, str]) -> dict[str, Upstream]:
    """Check the server's country map once, at start-up."""
    upstreams: dict[str, Upstream] = {}
    for code, url in proxies.items():
        try:
            upstreams[code.strip().lower()] = parse_proxy_url(url)
        except ValueError as exc:
            raise ConfigurationError(f"proxy for country code {code!r}: {exc}") from None
    return upstreams


# -- the hook: which browser gets which forwarder -------------------------------------------


class ProxyHooks(BrowserHooks):
    """Starts a forwarder for each browser created with a proxy, and closes it at the end.

    A proxied browser must be launched cold: its proxy is fixed on Chromium's command line.
    """

    def __init__(self, proxies: Mapping[str, str], connect_timeout: float = 10.0) -> None:
        self.countries = country_upstreams(proxies)
        self.connect_timeout = connect_timeout
        self._forwarders: dict[str, ProxyForwarder] = {}

    def upstream_for(self, request: BrowserCreateRequest) -> Upstream | None:
        """The upstream proxy a create request asks for; ApiProblem 422 if it cannot have it."""
        code, custom = request.proxy_country_code, request.custom_proxy
        if code is not None and custom is not None:
            raise invalid(
                "custom_proxy", "give either proxy_country_code or custom_proxy, not both"
            )
        if custom is not None:
            return Upstream(custom.host, custom.port, custom.username, custom.password)
        if code is None:
            return None
        upstream = self.countries.get(code.lower())
        if upstream is None:
            configured = ", ".join(sorted(self.countries)) or "none"
            raise invalid(
                "proxy_country_code",
                f"no proxy is configured for country code {code!r} on this server "
                f"(configured codes: {configured})",
            )
        return upstream

    async def check(self, request: BrowserCreateRequest) -> None:
        self.upstream_for(request)  # 422 before the create takes a slot

    def needs_cold_launch(self, request: BrowserCreateRequest) -> bool:
        return bool(request.proxy_country_code or request.custom_proxy)  # a launch flag

    async def prepare(self, browser: ManagedBrowser, plan: LaunchPlan) -> None:
        upstream = self.upstream_for(browser.request)
        if upstream is None:
            return  # a direct connection
        forwarder = ProxyForwarder(upstream, name=browser.id, connect_timeout=self.connect_timeout)
        await forwarder.start()
        self._forwarders[browser.id] = forwarder
        plan.extra_args += [f"--proxy-server={forwarder.proxy_server}", BYPASS_NOTHING]
        log.info("browser %s goes through upstream proxy %s", browser.id, upstream)

    async def finished(self, browser: ManagedBrowser) -> None:
        forwarder = self._forwarders.pop(browser.id, None)
        if forwarder is not None:
            await forwarder.close()
