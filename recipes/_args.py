"""What the recipes share on their command lines: a page's address, and a clear way to fail.

A recipe is a short script to copy; these keep its mistakes short too: `example.com` means
https://example.com, a page that cannot be loaded is one line naming it (not a traceback).
"""

from __future__ import annotations

import argparse
from urllib.parse import urlsplit

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

SCHEMES = ("http", "https", "file", "data", "about")


def page_url(text: str) -> str:
    """An argparse type: a page's address; without a scheme, https:// is meant."""
    url = text.strip()
    if "://" not in url and not url.startswith(("data:", "about:")):
        url = "https://" + url
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or (parts.scheme in ("http", "https") and not parts.hostname):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a page address; give one like https://example.com or example.com"
        )
    return url


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def load(page: Page, url: str) -> None:
    """``page.goto(url)``; a page that cannot be loaded ends the script with one line."""
    try:
        page.goto(url)
    except PlaywrightError as exc:
        reason = exc.message.splitlines()[0].removeprefix("Page.goto: ")
        raise SystemExit(f"error: could not load {url}: {reason}") from None
