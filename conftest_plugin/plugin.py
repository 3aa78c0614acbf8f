"""pytest fixtures for remote browsers.

Shaped like pytest-playwright: small fixtures a suite can override by name.
``remote_browser_options`` holds the keyword options of ``bu_cdp.RemoteBrowser``; override it
to change what every test's browser looks like.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bu-cdp", "remote browsers (bu-cdp)")
    group.addoption(
        "--bu-profile",
        default=None,
        metavar="ID",
        help="profile id for every remote browser (keeps cookies and storage between runs)",
    )
    group.addoption(
        "--bu-proxy-country",
        default=None,
        metavar="CODE",
        help="proxy country code for every remote browser, for example 'us'",
    )


@pytest.fixture
def remote_browser_options(pytestconfig: pytest.Config) -> dict[str, Any]:
    """Options passed to ``bu_cdp.RemoteBrowser``; override to add your own."""
    options: dict[str, Any] = {
        "profile_id": pytestconfig.getoption("--bu-profile"),
        "proxy_country_code": pytestconfig.getoption("--bu-proxy-country"),
    }
    return {key: value for key, value in options.items() if value is not None}


@pytest.fixture
def remote_browser(remote_browser_options: dict[str, Any]) -> Iterator[Page]:
    """A Playwright Page on a fresh remote browser, stopped after the test."""
    from bu_cdp.remote import RemoteBrowser

    with RemoteBrowser(**remote_browser_options) as handle:
        yield handle.page
