"""The plugin's settings: one table of options, each readable from four places.

Every option ``name`` has a command-line flag ``--bu-<name>``, an ini key ``bu_<name>`` and an
environment variable ``BU_CDP_<NAME>``; the first one set wins, in that order. Per test, the
``remote_browser`` marker beats all of them for the options that shape a browser. The API key
is read from ``BROWSER_USE_API_KEY`` only, by the client: never from the command line.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

SCOPES = ("function", "module", "session")
SCREENSHOT_MODES = ("on", "off", "only-on-failure")
TRACING_MODES = ("on", "off", "retain-on-failure")


def _choice(*choices: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
        return raw

    return parse


def _screen(raw: str) -> tuple[int, int]:
    width, x, height = raw.lower().partition("x")
    if not (x and width.isdigit() and height.isdigit() and int(width) > 0 and int(height) > 0):
        raise ValueError("expected WIDTHxHEIGHT in pixels, for example 1280x720")
    return int(width), int(height)


def _minutes(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= 240:
        raise ValueError("expected whole minutes from 1 to 240")
    return int(raw)


def _switch(raw: str) -> bool:
    value = raw.lower()
    if value not in ("on", "off", "true", "false", "yes", "no", "1", "0"):
        raise ValueError("expected on or off")
    return value in ("on", "true", "yes", "1")


@dataclass(frozen=True)
class Option:
    name: str
    help: str
    metavar: str
    parse: Callable[[str], Any] = str
    default: Any = None

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
    Option("profile", "profile id or name for every browser (cookies and storage kept)", "ID|NAME"),
    Option("proxy_country", "proxy country code for every browser, for example 'us'", "CODE"),
    Option("screen", "browser screen size, for example 1280x720", "WxH", _screen),
    Option("timeout", "server-side timeout of each browser, in minutes", "MIN", _minutes),
    Option("recording", "record each browser session (on/off)", "on|off", _switch),
    Option("scope", "function: a browser per test; module/session: one browser reused "
           "with a fresh context per test", "|".join(SCOPES), _choice(*SCOPES), "function"),
    Option("output", "folder for screenshots and traces", "DIR", Path, Path("test-results")),
    Option("screenshot", "when to save a screenshot", "|".join(SCREENSHOT_MODES),
           _choice(*SCREENSHOT_MODES), "only-on-failure"),
    Option("tracing", "when to save a Playwright trace", "|".join(TRACING_MODES),
           _choice(*TRACING_MODES), "off"),
)  # fmt: skip


@dataclass(frozen=True)
class Settings:
    base_url: str | None
    profile: str | None
    proxy_country: str | None
    screen: tuple[int, int] | None
    timeout: int | None
    recording: bool | None
    scope: str
    output: Path
    screenshot: str
    tracing: str

    def browser_options(self) -> dict[str, Any]:
        """The ``RemoteBrowser`` keyword options these settings ask for."""
        options = {
            "profile": self.profile,
            "proxy_country_code": self.proxy_country,
            "screen": self.screen,
            "timeout": self.timeout,
            "enable_recording": self.recording,
        }
        return {key: value for key, value in options.items() if value is not None}


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("bu-cdp", "remote browsers (bu-cdp)")
    for option in OPTIONS:
        group.addoption(option.flag, default=None, metavar=option.metavar, help=option.help)
        parser.addini(option.ini, f"{option.help} (env {option.env})", default=None)


def read_settings(config: pytest.Config) -> Settings:
    """Command line > ini > environment > default; a bad value is a usage error naming it."""
    values: dict[str, Any] = {}
    for option in OPTIONS:
        found = (
            (f"command line {option.flag}", config.getoption(option.flag)),
            (f"ini key {option.ini}", config.getini(option.ini)),
            (f"environment variable {option.env}", os.environ.get(option.env)),
        )
        source, raw = next(((s, v) for s, v in found if v), ("", None))
        try:
            values[option.name] = option.parse(raw.strip()) if raw else option.default
        except ValueError as exc:
            raise pytest.UsageError(f"bu-cdp: {source} = {raw!r}: {exc}") from None
    # Absolute, so Playwright's driver and xdist workers write to the same place.
    values["output"] = config.invocation_params.dir / values["output"]
    return Settings(**values)


# The marker's keywords, each with its check and the RemoteBrowser option it sets.
def _is_screen(value: Any) -> bool:
    return (
        isinstance(value, tuple | list)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
    )


MARKER_KEYWORDS: dict[str, tuple[str, str, Callable[[Any], bool]]] = {
    "profile": ("profile", "a profile id or name", lambda v: isinstance(v, str) and v != ""),
    "proxy_country_code": ("proxy_country_code", "a country code", lambda v: isinstance(v, str)),
    "screen": ("screen", "(width, height) in pixels", _is_screen),
    "timeout": (
        "timeout",
        "whole minutes from 1 to 240",
        lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 240,
    ),
    "enable_recording": ("enable_recording", "True or False", lambda v: isinstance(v, bool)),
}


class OptionError(ValueError):
    """A marker or ``new_remote_browser()`` asks for an option the plugin does not know."""


def keyword_options(keywords: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Check the marker's keywords and turn them into ``RemoteBrowser`` options."""
    options: dict[str, Any] = {}
    for key, value in keywords.items():
        if key not in MARKER_KEYWORDS:
            known = ", ".join(MARKER_KEYWORDS)
            raise OptionError(f"{where} got an unknown keyword {key!r}; known: {known}")
        target, expected, valid = MARKER_KEYWORDS[key]
        if value is not None and not valid(value):
            raise OptionError(f"{where}: {key}={value!r}, expected {expected}")
        options[target] = tuple(value) if key == "screen" and value else value
    return options


def marker_options(markers: Iterable[pytest.Mark]) -> dict[str, Any]:
    """Merge ``remote_browser`` markers, closest first; ``None`` unsets a suite-wide option."""
    options: dict[str, Any] = {}
    for mark in markers:
        if mark.args:
            raise OptionError(f"@pytest.mark.remote_browser takes keywords only, got {mark.args!r}")
        for key, value in keyword_options(mark.kwargs, "@pytest.mark.remote_browser").items():
            options.setdefault(key, value)
    return options
