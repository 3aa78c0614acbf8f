"""A small suite using bu-cdp's pytest plugin.

    pytest recipes/pytest_example            # a fresh remote browser per test
    pytest recipes/pytest_example --bu-scope module --bu-screenshot on

On failure the plugin saves a screenshot (and a trace with --bu-tracing retain-on-failure)
under test-results/, and puts the browser's id and live URL in the report.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect


def test_adds_an_item(remote_browser: Page, site_url: str) -> None:
    page = remote_browser
    page.goto(site_url)
    page.get_by_placeholder("What needs doing?").fill("water the plants")
    page.get_by_role("button", name="Add").click()
    expect(page.locator("#list li")).to_have_text(["water the plants"])


@pytest.mark.remote_browser(screen=(390, 844))  # per-test browser options: a phone-sized screen
def test_fits_a_phone_screen(remote_browser: Page, site_url: str) -> None:
    remote_browser.goto(site_url)
    assert remote_browser.evaluate("innerWidth") == 390
    expect(remote_browser.get_by_role("heading")).to_have_text("Todo")


def test_two_browsers_do_not_share_state(new_remote_browser, site_url: str) -> None:  # type: ignore[no-untyped-def]
    first, second = new_remote_browser(), new_remote_browser()
    first.page.goto(site_url)
    first.page.evaluate("localStorage.setItem('who', 'first')")
    second.page.goto(site_url)
    assert second.page.evaluate("localStorage.getItem('who')") is None
    assert first.id != second.id
