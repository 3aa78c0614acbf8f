"""The pytest plugin, run with pytester in a subprocess against the real server and Chromium."""

from __future__ import annotations

import pytest

from bu_cdp.server.thread import ServerThread
from tests.support.pages import PageServer


@pytest.fixture
def env_for(server: ServerThread, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BU_CDP_BASE_URL", server.base_url)
    monkeypatch.setenv("BROWSER_USE_API_KEY", server.config.api_key)


def test_remote_browser_fixture_gives_a_page(
    pytester: pytest.Pytester, pages: PageServer, env_for: None
) -> None:
    pytester.makepyfile(
        f"""
        def test_title(remote_browser):
            remote_browser.goto("{pages.url}/about")
            assert remote_browser.title() == "About us"
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_options_are_passed_through(pytester: pytest.Pytester, env_for: None) -> None:
    pytester.makepyfile(
        """
        def test_options(remote_browser_options):
            assert remote_browser_options == {"profile_id": "p-1", "proxy_country_code": "de"}
        """
    )
    result = pytester.runpytest_subprocess("--bu-profile", "p-1", "--bu-proxy-country", "de")
    result.assert_outcomes(passed=1)


def test_fixture_uses_the_embedded_default_without_configuration(
    pytester: pytest.Pytester, pages: PageServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BU_CDP_BASE_URL", raising=False)
    monkeypatch.delenv("BROWSER_USE_API_KEY", raising=False)
    pytester.makepyfile(
        f"""
        def test_home(remote_browser):
            remote_browser.goto("{pages.url}/")
            assert remote_browser.title() == "Home"
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)
