"""Profiles: Chromium user data kept between browsers, one browser at a time, crash-safe."""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from bu_cdp import BrowserUse, errors
from tests.support.pages import PageServer
from tests.support.processes import live_chromiums
from tests.support.serving import serve_process
from tests.support.waiting import wait_until

REMEMBER_ME = """() => new Promise((resolve, reject) => {
    localStorage.setItem('theme', 'dark');
    const open = indexedDB.open('shop', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('cart');
    open.onsuccess = () => {
        const tx = open.result.transaction('cart', 'readwrite');
        tx.objectStore('cart').put('3 apples', 'items');
        tx.oncomplete = () => { open.result.close(); resolve(true); };
        tx.onerror = () => reject(tx.error);
    };
    open.onerror = () => reject(open.error);
})"""

RECALL = """() => new Promise((resolve) => {
    const open = indexedDB.open('shop', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('cart');
    open.onsuccess = () => {
        const get = open.result.transaction('cart').objectStore('cart').get('items');
        get.onsuccess = () => {
            open.result.close();
            resolve([localStorage.getItem('theme'), get.result ?? null]);
        };
    };
})"""


def _open_page(pw: Playwright, cdp_url: str | None, url: str) -> tuple[str, Browser]:
    """Visit ``url`` in the browser's first tab; the page's title and a handle to close."""
    assert cdp_url
    remote = pw.chromium.connect_over_cdp(cdp_url)
    page = remote.contexts[0].pages[0]
    page.goto(url)
    return page.title(), remote


def test_profiles_are_created_listed_renamed_and_deleted(api: dict[str, str]) -> None:
    with BrowserUse(**api) as client:
        work = client.profiles.create("Work Account")
        client.profiles.create("personal")
        assert work.id and work.name == "Work Account" and work.created_at is not None

        found = client.profiles.list(query="work ACC")  # case-insensitive, part of the name
        assert [p.id for p in found] == [work.id]
        assert client.profiles.get(work.id).name == "Work Account"

        assert client.profiles.update(work.id, name="Office").name == "Office"
        assert client.profiles.get(work.id).name == "Office"

        client.profiles.delete(work.id)
        with pytest.raises(errors.NotFoundError, match=work.id):
            client.profiles.get(work.id)
        with pytest.raises(errors.NotFoundError):
            client.profiles.delete(work.id)
        with pytest.raises(errors.UnprocessableEntityError) as bad:
            client.profiles.create("   ")
        assert bad.value.fields == ["name"]


def test_a_browser_with_an_unknown_profile_gets_404_naming_it(api: dict[str, str]) -> None:
    with BrowserUse(**api) as client:
        with pytest.raises(errors.NotFoundError, match=r"no-such-profile.*profile_id"):
            client.browsers.create(profile_id="no-such-profile")


def test_a_profile_serves_one_browser_at_a_time(api: dict[str, str]) -> None:
    with BrowserUse(**api) as client:
        profile = client.profiles.create("busy")
        browser = client.browsers.create(profile_id=profile.id)
        try:
            with pytest.raises(errors.ConflictError, match="in use by browser"):
                client.browsers.create(profile_id=profile.id)
            with pytest.raises(errors.ConflictError, match=r"in use.*cannot be deleted"):
                client.profiles.delete(profile.id or "")
        finally:
            client.browsers.stop(browser.id or "")
        client.profiles.delete(profile.id or "")  # free again once the browser stopped
        with pytest.raises(errors.NotFoundError):
            client.profiles.get(profile.id or "")


# -- a server killed while a profile is in use --------------------------------------------------


@contextmanager
def _serve(data_dir: Path, tmp: Path) -> Iterator[tuple[subprocess.Popen[bytes], str, str]]:
    """``bu-cdp serve`` in a process of its own; (process, API URL, key). Its browsers' work
    folders go into ``tmp``."""
    with serve_process("--data-dir", str(data_dir), tmpdir=tmp) as served:
        yield served.process, served.api_url, served.api_key


def test_a_login_survives_in_its_profile_even_when_the_server_is_killed(
    pages: PageServer, tmp_path: Path
) -> None:
    """Log in, stop, and the next browser on the profile is logged in; kill the server while a
    third uses the profile, and after a restart the profile loads whole, as last saved."""
    # A short folder for the server's browsers: Chromium's socket paths must stay short.
    data, tmp = tmp_path / "data", Path(tempfile.mkdtemp(prefix="killed-"))
    with sync_playwright() as pw:
        with _serve(data, tmp) as (process, base_url, key):
            with BrowserUse(base_url=base_url, api_key=key) as client:
                profile = client.profiles.create("shopping")

                first = client.browsers.create(profile_id=profile.id)
                title, remote = _open_page(pw, first.cdp_url, pages.url + "/login?user=alice")
                assert title == "Logged in"
                remote.contexts[0].pages[0].evaluate(REMEMBER_ME)
                remote.close()
                client.browsers.stop(first.id or "")

                second = client.browsers.create(profile_id=profile.id)
                title, remote = _open_page(pw, second.cdp_url, pages.url + "/whoami")
                assert title == "alice"  # the cookie set in the first browser
                page = remote.contexts[0].pages[0]
                assert page.evaluate(RECALL) == ["dark", "3 apples"]  # localStorage, IndexedDB
                page.goto(pages.url + "/login?user=eve")  # never saved: the server dies first
                process.send_signal(signal.SIGKILL)
                process.wait(30)
        wait_until(lambda: not live_chromiums(str(tmp)), 30, "its server's Chromium to end")

        with _serve(data, tmp) as (_process, base_url, key):
            assert not list(tmp.glob("bu-cdp-browser-*")), "the dead run's work folder is left"
            with BrowserUse(base_url=base_url, api_key=key) as client:
                assert [p.id for p in client.profiles.list()] == [profile.id]
                earlier = client.browsers.get(second.id or "")
                assert earlier.status == "stopped"
                assert "unexpectedly" in str((earlier.model_extra or {}).get("reason"))

                third = client.browsers.create(profile_id=profile.id)  # not locked any more
                try:
                    title, remote = _open_page(pw, third.cdp_url, pages.url + "/whoami")
                    assert title == "alice"  # the last saved copy, whole
                    remote.close()
                finally:
                    client.browsers.stop(third.id or "")
        wait_until(lambda: not live_chromiums(str(tmp)), 30, "its server's Chromium to end")
    shutil.rmtree(tmp)
