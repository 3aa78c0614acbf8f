"""A test's browser context: the options of Playwright's ``new_context()`` given with the
browser's own (``remote_browser_options``, the marker), a device, and the app's base URL.

A browser is made once for the options that describe it (screen, profile, proxy...); a test's
context options (locale, timezone, geolocation, permissions, colour scheme, HTTP credentials,
headers, storage state...) then go to a context of the test's own, so tests that differ only
in them can still share a browser in the module and session scopes.
"""

from __future__ import annotations

import difflib
import functools
import inspect
from collections.abc import Mapping
from typing import Any

DEVICE = "device"  # a keyword of ours: a name among Playwright's device descriptors


@functools.cache
def context_option_names() -> frozenset[str]:
    """``Browser.new_context()``'s keywords, as the installed Playwright has them. ``screen``
    stays the remote browser's (its window, a ``(width, height)``)."""
    from playwright.sync_api import Browser

    names = set(inspect.signature(Browser.new_context).parameters) - {"self", "screen"}
    return frozenset(names | {DEVICE})


def split(options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(browser options, context options)`` of one dict of both."""
    names = context_option_names()
    browser = {key: value for key, value in options.items() if key not in names}
    context = {key: value for key, value in options.items() if key in names}
    return browser, context


def device_options(devices: Mapping[str, Any], name: str) -> dict[str, Any]:
    """Playwright's descriptor of ``name`` as ``new_context()`` keywords; a name Playwright
    does not know is a ValueError with the nearest ones."""
    if name not in devices:
        close = difflib.get_close_matches(name, list(devices), n=3)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(f"no Playwright device named {name!r}{hint}")
    return dict(devices[name])


def context_args(
    devices: Mapping[str, Any], base_url: str | None, given: Mapping[str, Any]
) -> dict[str, Any]:
    """A test's ``new_context()`` keywords: its device's, then the base URL, then the ones
    given."""
    args: dict[str, Any] = {}
    if given.get(DEVICE):
        args.update(device_options(devices, given[DEVICE]))
    if base_url:
        args["base_url"] = base_url
    args.update((key, value) for key, value in given.items() if key != DEVICE)
    return args
