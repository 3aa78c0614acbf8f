"""A profile chosen by name keeps a login across two blocks: real Chromium, real server.

Profiles on the local server are being built in parallel (issue 4). While the server answers
501 for /profiles this test is skipped, saying so; once /profiles is served it runs, and it
must pass. It is never skipped for any other reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from bu_cdp import BrowserUse, RemoteBrowser
from bu_cdp.errors import NotSupportedError
from tests.support.pages import PageServer


@pytest.fixture
def profiles_client(api: dict[str, str]) -> Iterator[BrowserUse]:
    with BrowserUse(**api) as client:
        try:
            client.profiles.list()
        except NotSupportedError:
            pytest.skip("the local server answers 501 for /profiles on this branch (issue 4)")
        yield client


@pytest.mark.needs_profiles
def test_a_profile_chosen_by_name_keeps_a_login_across_two_blocks(
    api: dict[str, str], pages: PageServer, profiles_client: BrowserUse
) -> None:
    name = f"login-{uuid.uuid4().hex[:8]}"
    try:
        with RemoteBrowser(profile=name, create_profile=True, **api) as rb:
            rb.page.goto(pages.url + "/login?user=ada")
            assert rb.page.title() == "Logged in"

        with RemoteBrowser(profile=name, **api) as rb:  # found by name this time
            rb.page.goto(pages.url + "/whoami")
            assert rb.page.locator("#user").inner_text() == "ada"
    finally:
        for profile in profiles_client.profiles.list(query=name):
            if profile.name == name and profile.id:
                profiles_client.profiles.delete(profile.id)
