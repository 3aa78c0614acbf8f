"""The options of a remote browser, checked in one place.

``RemoteBrowser(...)``, the pytest plugin (flags, ini keys, markers) and the ``bu-cdp`` command
(``--screen``, ``--timeout``, ...) all describe a browser with the same options. Each of them
hands the options to ``plan_browser()``, which checks every value (a mistake is a TypeError or a
ValueError naming it, before anything is created or billed) and maps them to the fields of the
create request (``BrowserPlan.fields``, in the spec's names).

``screen_from_text()`` and ``minutes_from_text()`` read the same values from text (a command
line, an ini file, an environment variable) and check them the same way.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

from pydantic import ValidationError

from bu_cdp.models import MAX_SCREEN, MAX_TIMEOUT_MINUTES, MIN_SCREEN, CustomProxy

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_RECORDING_TIMEOUT",
    "FLAGS",
    "KEYWORDS",
    "MAX_TIMEOUT_MINUTES",
    "OPTION_NAMES",
    "BrowserOptions",
    "BrowserPlan",
    "Words",
    "check_screen",
    "check_timeout",
    "minutes_from_text",
    "plan_browser",
    "screen_from_text",
]

DEFAULT_CONNECT_TIMEOUT = 30.0
DEFAULT_RECORDING_TIMEOUT = 30.0


class BrowserOptions(TypedDict, total=False):
    """What a remote browser looks like. Every key is optional."""

    profile: str  # a profile id, or a profile name looked up with profiles.list(query=)
    profile_id: str  # a profile id, used as it is
    create_profile: bool  # create the profile named by ``profile`` when there is none
    proxy_country_code: str
    custom_proxy: CustomProxy | dict[str, Any]
    screen: tuple[int, int]  # browser window and page viewport, in CSS pixels
    timeout: int  # server-side lifetime in minutes (at most 240): the last line of defence
    enable_recording: bool  # after the stop, wait for ``recording_url``
    recording_timeout: float  # seconds to wait for the recording URL after the stop
    keep_alive: bool  # leave the browser running after the block (reattach with attach())
    connect_timeout: float  # seconds for the whole CDP connect, retries included
    reconnect: bool  # reconnect once if the CDP socket drops while the browser is active


OPTION_NAMES = frozenset(BrowserOptions.__annotations__)


@dataclass(frozen=True)
class BrowserPlan:
    """Checked options. ``fields`` are the create request's fields, without the profile (a
    name must be looked up first); a proxy password in them never shows in a repr."""

    fields: dict[str, Any]
    words: Words  # how the caller's messages name the options
    profile: str | None
    profile_id: str | None
    create_profile: bool
    screen: tuple[int, int] | None
    enable_recording: bool
    recording_timeout: float
    keep_alive: bool
    connect_timeout: float
    reconnect: bool


@dataclass(frozen=True)
class Words:
    """How messages name the profile options: Python's keywords, or the command's flags, so
    each user reads the words they typed."""

    create_profile: str  # the switch that creates a missing profile
    named_profile: str  # a profile given by name
    by_id: str  # how to give a profile by its id
    if_missing: str  # what to do about a name no profile has ({name!r} in it is the name)
    labels: Mapping[str, str]  # option -> its name in "... must be a non-empty string"


KEYWORDS = Words(
    create_profile="create_profile=True",
    named_profile="profile='<name>'",
    by_id="profile_id=",
    if_missing="pass create_profile=True to create it (or profile_id= if {name!r} is an id)",
    labels={},
)
FLAGS = Words(
    create_profile="--create-profile",
    named_profile="--profile NAME",
    by_id="--profile with the profile's id",
    if_missing="add --create-profile to create it",
    labels={"profile": "--profile", "proxy_country_code": "--proxy-country"},
)

SCREEN_RANGE = (
    f"a width of {MIN_SCREEN[0]} to {MAX_SCREEN[0]} and a height of {MIN_SCREEN[1]} to "
    f"{MAX_SCREEN[1]} pixels"
)


def _screen_problem(width: int, height: int) -> str | None:
    """What is wrong with a screen of whole pixels: a side outside the server's range."""
    for side, value, low, high in (
        ("width", width, MIN_SCREEN[0], MAX_SCREEN[0]),
        ("height", height, MIN_SCREEN[1], MAX_SCREEN[1]),
    ):
        if not low <= value <= high:
            return f"the {side} {value} is {'too small' if value < low else 'too large'}"
    return None


def check_screen(screen: Any) -> tuple[int, int]:
    """``(width, height)`` in whole pixels, each within the server's range (``MIN_SCREEN`` to
    ``MAX_SCREEN``, which the server answers 422 outside of); else a ValueError saying why."""
    if not (
        isinstance(screen, tuple | list)
        and len(screen) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in screen)
    ):
        raise ValueError(f"screen must be (width, height) in whole pixels, got {screen!r}")
    problem = _screen_problem(int(screen[0]), int(screen[1]))
    if problem:
        raise ValueError(
            f"screen must be (width, height) with {SCREEN_RANGE}; got {tuple(screen)!r}: {problem}"
        )
    return int(screen[0]), int(screen[1])


def check_timeout(timeout: Any) -> int:
    """A browser's server-side lifetime: whole minutes, 1 to 240; else a ValueError."""
    if (
        not isinstance(timeout, int)
        or isinstance(timeout, bool)
        or not 1 <= timeout <= MAX_TIMEOUT_MINUTES
    ):
        raise ValueError(
            f"timeout is in minutes, 1 to {MAX_TIMEOUT_MINUTES}, got {timeout!r}"
            " (connect_timeout= is the one in seconds)"
        )
    return timeout


def screen_from_text(text: str) -> tuple[int, int]:
    """``"1280x720"`` as ``(1280, 720)``, checked as ``screen=`` is."""
    width, x, height = text.strip().lower().partition("x")
    try:
        if not x:
            raise ValueError
        size = int(width), int(height)
    except ValueError:
        size = None
    problem = _screen_problem(*size) if size else None
    if size is None or problem:
        why = f": {problem}" if problem else ""
        raise ValueError(
            f"expected WIDTHxHEIGHT in pixels, like 1280x720, with {SCREEN_RANGE}; "
            f"got {text!r}{why}"
        )
    return size


def minutes_from_text(text: str) -> int:
    """``"15"`` as 15 minutes, checked as ``timeout=`` is."""
    try:
        return check_timeout(int(text))
    except ValueError:
        raise ValueError(
            f"expected whole minutes from 1 to {MAX_TIMEOUT_MINUTES}, got {text!r}"
        ) from None


def plan_browser(caller: str, options: Mapping[str, Any], words: Words = KEYWORDS) -> BrowserPlan:
    """Check ``options`` (the keys of ``BrowserOptions``; None means not given) for ``caller``
    (named in the errors, which name the options in ``words``) and map them to a create
    request's fields."""
    for name in options:
        if name not in OPTION_NAMES:
            close = difflib.get_close_matches(name, sorted(OPTION_NAMES), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise TypeError(f"{caller}() got an unexpected keyword argument {name!r}{hint}")
    o = {k: v for k, v in options.items() if v is not None}

    profile, profile_id = o.get("profile"), o.get("profile_id")
    if profile is not None and profile_id is not None:
        raise TypeError(f"{caller}(): give profile= or profile_id=, not both")
    for name in ("profile", "profile_id", "proxy_country_code"):
        if name in o and (not isinstance(o[name], str) or not o[name]):
            label = words.labels.get(name, name)
            raise TypeError(f"{caller}(): {label} must be a non-empty string, got {o[name]!r}")
    create_profile = bool(o.get("create_profile", False))
    if create_profile and profile is None:
        raise TypeError(f"{caller}(): {words.create_profile} needs {words.named_profile}")

    screen = check_screen(o["screen"]) if "screen" in o else None
    timeout = check_timeout(o["timeout"]) if "timeout" in o else None
    proxy = _custom_proxy(o.get("custom_proxy"))

    connect_timeout = float(o.get("connect_timeout", DEFAULT_CONNECT_TIMEOUT))
    recording_timeout = float(o.get("recording_timeout", DEFAULT_RECORDING_TIMEOUT))
    if connect_timeout <= 0:
        raise ValueError(f"connect_timeout must be positive seconds, got {connect_timeout!r}")
    if recording_timeout < 0:
        raise ValueError(f"recording_timeout must be seconds >= 0, got {recording_timeout!r}")

    enable_recording = bool(o.get("enable_recording", False))
    fields: dict[str, Any] = {
        "proxy_country_code": o.get("proxy_country_code"),
        "custom_proxy": proxy,
        "timeout": timeout,
        "enable_recording": True if enable_recording else None,
    }
    if screen is not None:
        fields["browserScreenWidth"], fields["browserScreenHeight"] = screen
    return BrowserPlan(
        fields={k: v for k, v in fields.items() if v is not None},
        words=words,
        profile=profile,
        profile_id=profile_id,
        create_profile=create_profile,
        screen=screen,
        enable_recording=enable_recording,
        recording_timeout=recording_timeout,
        keep_alive=bool(o.get("keep_alive", False)),
        connect_timeout=connect_timeout,
        reconnect=bool(o.get("reconnect", False)),
    )


def _custom_proxy(proxy: Any) -> CustomProxy | None:
    if proxy is None or isinstance(proxy, CustomProxy):
        return proxy
    if not isinstance(proxy, dict):
        raise TypeError(f"custom_proxy must be a dict or CustomProxy, got {type(proxy).__name__}")
    try:
        return CustomProxy.model_validate(proxy)
    except ValidationError as exc:
        # Only where and what: the value itself may be the password.
        detail = "; ".join(
            f"custom_proxy.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ValueError(detail) from None
