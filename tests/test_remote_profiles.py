"""A profile chosen by name keeps a login across two blocks: real Chromium, real server."""

from __future__ import annotations

import uuid

from bu_cdp import BrowserUse, RemoteBrowser
from tests.support.pages import PageServer


def test_a_profile_chosen_by_name_keeps_a_login_across_two_blocks(
    api: dict[str, str], pages: PageServer
) -> None:
    name = f"login-{uuid.uuid4().hex[:8]}"
    with RemoteBrowser(profile=name, create_profile=True, **api) as rb:
        rb.page.goto(pages.url + "/login?user=ada")
        assert rb.page.title() == "Logged in"

    with RemoteBrowser(profile=name, **api) as rb:  # found by name this time
        rb.page.goto(pages.url + "/whoami")
        assert rb.page.locator("#user").inner_text() == "ada"

    with BrowserUse(**api) as client:
        [profile] = [p for p in client.profiles.list(query=name) if p.name == name]
        assert profile.id
        client.profiles.delete(profile.id)
        assert not [p for p in client.profiles.list(query=name) if p.name == name]
