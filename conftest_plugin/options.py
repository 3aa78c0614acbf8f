"""The plugin's settings and each test's browser options.

Every setting ``name`` has a command-line flag ``--bu-<name>``, an ini key ``bu_<name>`` and an
environment variable ``BU_CDP_<NAME>``; the first one set wins, in that order. Per test, the
``remote_browser`` marker beats all of them. The API key is read from ``BROWSER_USE_API_KEY``
only, by the client: never from the command line. Browser options are checked by the same
validator as ``RemoteBrowser``'s, so the plugin accepts exactly what a browser can be; the
context options of Playwright's ``new_context()`` come in the same dict
(``conftest_plugin.contexts`` tells them apart).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bu_cdp.options import minutes_from_text, screen_from_text
from bu_cdp.options import plan_browser as check_browser_options
from conftest_plugin.contexts import split

# Options naming their own server (and how to speak to it).
WHERE_FROM = frozenset({"base_url", "api_key", "dialect", "client"})


def _switch(raw: str) -> bool:
    value = raw.lower()
    if value not in ("on", "off", "true", "false", "yes", "no", "1", "0"):
        raise ValueError("expected on or off")
    return value in ("on", "true", "yes", "1")


@dataclass(frozen=True)
class Option:
    name: str
    help: str
    metavar: str = ""  # default: the choices
    parse: Callable[[str], Any] = str
    default: Any = None
    choices: tuple[str, ...] = ()
    browser_option: str | None = None  # the RemoteBrowser option it sets for every browser
    switch: bool = False  # a bare flag on the command line (``--bu-remote``)

    @property
    def flag(self) -> str:
        return "--bu-" + self.name.replace("_", "-")

    @property
    def ini(self) -> str:
        return "bu_" + self.name

    @property
    def env(self) -> str:
        return "BU_CDP_" + self.name.upper()


OPTIONS = (
    Option("base_url", "API base URL (default: hosted API with a key, else embedded)", "URL"),
    Option("api_dialect", "the API's dialect (auto: hosted for Browser Use's hosts, else seed)",
           parse=str.lower, default="auto", choices=("auto", "seed", "hosted")),
    Option("profile", "profile id or name for every browser (cookies and storage kept)",
           "ID|NAME", browser_option="profile"),
    Option("proxy_country", "proxy country code for every browser, for example 'us'", "CODE",
           browser_option="proxy_country_code"),
    Option("screen", "browser screen size, for example 1280x720", "WxH", screen_from_text,
           browser_option="screen"),
    Option("timeout", "server-side timeout of each browser, in minutes", "MIN", minutes_from_text,
           browser_option="timeout"),
    Option("recording", "record each browser session (on/off)", "on|off", _switch,
           browser_option="enable_recording"),
    Option("scope", "function: a browser per test; module/session: one browser reused "
           "with a fresh context per test (default: function, and session for --bu-remote)",
           choices=("function", "module", "session")),
    Option("output", "folder for screenshots and traces", "DIR", Path, Path("test-results")),
    Option("screenshot", "when to save a screenshot", default="only-on-failure",
           choices=("on", "off", "only-on-failure")),
    Option("tracing", "when to save a Playwright trace", default="off",
           choices=("on", "off", "retain-on-failure")),
    Option("remote", "serve pytest-playwright's browser, context and page fixtures with "
           "remote browsers", "on|off", _switch, False, switch=True),
    Option("device", "emulate a Playwright device in every test's context, for example "
           "'iPhone 13'", "NAME"),
)  # fmt: skip


@dataclass(frozen=True)
class Settings:
    """The options that are the plugin's own, and the browser options of every test."""

    base_url: str | None
    api_dialect: str
    scope: str
    output: Path
    screenshot: str
    tracing: str
    browser_options: dict[str, Any]  # RemoteBrowser keyword options
    remote: bool = False  # pytest-playwright's fixtures on remote browsers
    device: str | None = None  # a name in Playwright's device descriptors
    remote_scope: str = "session"  # --bu-remote's browser: the scope asked for, else one a worker


SETTINGS = pytest.StashKey[Settings]()  # the run's Settings, in config.stash


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("bu-cdp", "remote browsers (bu-cdp)")
    for option in OPTIONS:
        if option.switch:
            group.addoption(option.flag, action="store_true", default=None, help=option.help)
        else:
            metavar = option.metavar or "|".join(option.choices)
            group.addoption(option.flag, default=None, metavar=metavar, help=option.help)
        parser.addini(option.ini, f"{option.help} (env {option.env})", default=None)


def read_settings(config: pytest.Config) -> Settings:
    """Command line > ini > environment > default; a bad value is a usage error naming it."""
    values: dict[str, Any] = {}
    browser: dict[str, Any] = {}
    for option in OPTIONS:
        found = (
            (f"command line {option.flag}", config.getoption(option.flag)),
            (f"ini key {option.ini}", config.getini(option.ini)),
            (f"environment variable {option.env}", os.environ.get(option.env)),
        )
        source, raw = next(((s, v) for s, v in found if v), ("", None))
        raw = "on" if raw is True else raw  # a bare switch
        try:
            value = option.parse(raw.strip()) if raw else option.default
            if option.choices and value is not None and value not in option.choices:
                raise ValueError(f"expected one of {', '.join(option.choices)}")
            if option.browser_option is None:
                values[option.name] = value
            elif value is not None:
                check_browser_options("bu-cdp", {option.browser_option: value})
                browser[option.browser_option] = value
        except (TypeError, ValueError) as exc:
            raise pytest.UsageError(f"bu-cdp: {source} = {raw!r}: {exc}") from None
    # Absolute, so Playwright's driver and xdist workers write to the same place.
    values["output"] = config.invocation_params.dir / values["output"]
    values["remote_scope"] = values["scope"] or "session"
    values["scope"] = values["scope"] or "function"
    return Settings(**values, browser_options=browser)


def options_for(
    item: pytest.Item, suite: Mapping[str, Any], keywords: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A browser's options: the suite's, then the test's markers (the closest wins), then
    ``new_remote_browser(**keywords)``. ``None`` removes a value. A bad one fails the test."""
    marked: dict[str, Any] = {}
    for mark in item.iter_markers("remote_browser"):  # the closest first
        if mark.args:
            said = f"@pytest.mark.remote_browser takes keywords only, got {mark.args!r}"
            pytest.fail(said, pytrace=False)
        marked = {**mark.kwargs, **marked}
    options: dict[str, Any] = {}
    for source, layer in (
        ("remote_browser_options", suite),
        ("@pytest.mark.remote_browser", marked),
        ("new_remote_browser", keywords or {}),
    ):
        options.update(layer)
        problem = _problem(source, options)
        if problem:
            pytest.fail(problem, pytrace=False)
        options = {key: value for key, value in options.items() if value is not None}
    return options


def _problem(source: str, options: dict[str, Any]) -> str | None:
    """What is wrong with the options (None values are checked for their names too). The
    context options are Playwright's to check, when the context is made."""
    browser, _ = split(options)
    try:
        check_browser_options(source, {k: v for k, v in browser.items() if k not in WHERE_FROM})
    except (TypeError, ValueError) as exc:
        said = str(exc)
        return said if said.startswith(source) else f"{source}: {said}"
    return None


def server_of(options: Mapping[str, Any], **shared: Any) -> dict[str, Any]:
    """Where a browser comes from: the ``shared`` one, unless its options name their own."""
    return {} if WHERE_FROM & options.keys() else shared
