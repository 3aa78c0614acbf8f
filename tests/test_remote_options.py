"""RemoteBrowser options: checked at the call (``bu_cdp.options``), and a profile chosen by
name, looked up on a real local server (one match among several search hits, several, none,
created, an id passed through). Option checks need no server at all.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Playwright, sync_playwright

from bu_cdp import AsyncRemoteBrowser, BrowserUse, RemoteBrowser, async_remote_browser
from bu_cdp import remote_browser as remote_browser_cm
from bu_cdp.effects import run_sync
from bu_cdp.errors import NotFoundError, PaymentRequiredError, ProfileLookupError
from bu_cdp.models import BrowserCreate, CustomProxy
from bu_cdp.options import minutes_from_text, plan_browser, screen_from_text
from bu_cdp.profile_lookup import create_fields
from bu_cdp.server.config import ServerConfig
from bu_cdp.server.thread import ServerThread

WORK_ID = "0b8e4c2a-1f5d-4a47-9a51-6f2d1c3b9e01"


@pytest.mark.parametrize("make", [RemoteBrowser, AsyncRemoteBrowser, remote_browser_cm])
def test_an_unknown_option_is_a_type_error_at_the_call(make: Callable[..., Any]) -> None:
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'scren'.*'screen'"):
        make(scren=(800, 600))


def test_async_one_liner_checks_options_at_the_call_too() -> None:
    with pytest.raises(TypeError, match="proxy_country"):
        async_remote_browser(proxy_country="us")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("one_liner", "says"),
    [
        (remote_browser_cm, "use `with RemoteBrowser(reconnect=True) as rb:`"),
        (async_remote_browser, "use `async with AsyncRemoteBrowser(reconnect=True) as rb:`"),
    ],
)
def test_the_one_liners_refuse_reconnect_their_page_would_not_follow(
    one_liner: Callable[..., Any], says: str
) -> None:
    with pytest.raises(TypeError, match=re.escape(says)):
        one_liner(reconnect=True)


@pytest.mark.parametrize(
    ("options", "error", "says"),
    [
        ({"screen": (800,)}, ValueError, "screen must be"),
        ({"screen": (0, 600)}, ValueError, "screen must be"),
        ({"timeout": 241}, ValueError, "timeout is in minutes"),
        ({"timeout": 1.5}, ValueError, "timeout is in minutes"),
        ({"connect_timeout": 0}, ValueError, "connect_timeout"),
        ({"profile": "a", "profile_id": "b"}, TypeError, "not both"),
        ({"create_profile": True}, TypeError, "needs profile="),
        ({"custom_proxy": {"host": "proxy.local"}}, ValueError, "custom_proxy.*port"),
        ({"profile": ""}, TypeError, "profile must be a non-empty string"),
    ],
)
def test_bad_option_values_are_named_at_the_call(
    options: dict[str, Any], error: type[Exception], says: str
) -> None:
    with pytest.raises(error, match=says):
        RemoteBrowser(**options)


def test_every_option_reaches_the_create_in_the_spec_names() -> None:
    plan = plan_browser(
        "RemoteBrowser",
        {
            "proxy_country_code": "de",
            "custom_proxy": {"host": "proxy.local", "port": 3128},
            "screen": (1024, 768),
            "timeout": 5,
            "enable_recording": True,
        },
    )
    assert BrowserCreate.model_validate(plan.fields).to_body() == {
        "proxy_country_code": "de",
        "custom_proxy": {"host": "proxy.local", "port": 3128},
        "browserScreenWidth": 1024,
        "browserScreenHeight": 768,
        "timeout": 5,
        "enable_recording": True,
    }


def test_a_proxy_password_never_shows_in_a_repr() -> None:
    proxy = {"host": "proxy.local", "port": 3128, "username": "u", "password": "hunter2-secret"}
    plan = plan_browser("RemoteBrowser", {"custom_proxy": proxy})
    shown = [
        repr(plan),
        str(plan),
        repr(plan.fields["custom_proxy"]),
        str(plan.fields["custom_proxy"]),
        repr(CustomProxy(**proxy)),
        repr(BrowserCreate(custom_proxy=proxy)),
        repr(BrowserCreate(custom_proxy={**proxy, "extra": "x"})),  # kept as a plain dict
    ]
    assert not [text for text in shown if "hunter2-secret" in text]
    assert "proxy.local" in repr(plan)  # the rest is still shown
    assert CustomProxy(**proxy).to_body()["password"] == "hunter2-secret"  # and still sent


@pytest.mark.parametrize(("text", "value"), [("1280x720", (1280, 720)), (" 800X600 ", (800, 600))])
def test_a_screen_from_text(text: str, value: tuple[int, int]) -> None:
    assert screen_from_text(text) == value


@pytest.mark.parametrize("text", ["0x600", "-5x600", "800x", "800", "big", "800x600x2", ""])
def test_a_bad_screen_from_text_is_named(text: str) -> None:
    with pytest.raises(ValueError, match=r"expected WIDTHxHEIGHT in pixels.*1280x720"):
        screen_from_text(text)


def test_minutes_from_text() -> None:
    assert minutes_from_text("15") == 15
    for bad in ("0", "241", "-1", "1.5", "soon"):
        with pytest.raises(ValueError, match="expected whole minutes from 1 to 240"):
            minutes_from_text(bad)


# -- a profile chosen by name, against a real server --------------------------------------


def _api(server: ServerThread) -> dict[str, str]:
    return {"base_url": server.base_url, "api_key": server.config.api_key}


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    """One Playwright driver for this module's blocks (each would otherwise start its own)."""
    with sync_playwright() as pw:
        yield pw


def _open(playwright: Playwright, **options: Any) -> None:
    with RemoteBrowser(playwright=playwright, **options):
        pass


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """A server with a data folder of its own, so the profiles are only this module's (each
    test uses names of its own)."""
    data = tmp_path_factory.mktemp("profiles")
    config = ServerConfig(api_key=secrets.token_urlsafe(16), port=0, data_dir=data)
    with ServerThread(config) as running:
        yield running


def test_a_profile_name_is_matched_exactly_among_the_search_hits(
    own_server: ServerThread,
) -> None:
    """What RemoteBrowser sends to create the browser (``create_fields``), on a real server.
    (A browser made with a profile chosen by name: test_remote_profiles.py.)"""
    server = own_server
    with BrowserUse(**_api(server)) as client:
        work = client.profiles.create("work")
        client.profiles.create("work-2")  # the search for "work" finds this one too
        plan = plan_browser("RemoteBrowser", {"profile": "work", "timeout": 5})
        assert run_sync(create_fields(client, plan)) == {"profile_id": work.id, "timeout": 5}


def test_an_id_is_sent_as_it_is_never_looked_up(
    own_server: ServerThread, playwright: Playwright
) -> None:
    server = own_server
    # The server answers that no such profile exists: so it was sent as profile_id (a name
    # would have been looked up, and the error would be ProfileLookupError).
    with pytest.raises(NotFoundError, match=rf"Profile '{WORK_ID}' not found \(profile_id\)"):
        _open(playwright, profile=WORK_ID, **_api(server))
    with pytest.raises(NotFoundError, match=r"Profile 'any-id-at-all' not found"):
        _open(playwright, profile_id="any-id-at-all", **_api(server))
    assert server.manager.active() == []


def test_a_missing_or_ambiguous_name_is_a_clear_error_and_creates_nothing(
    own_server: ServerThread,
    playwright: Playwright,
) -> None:
    server = own_server
    with BrowserUse(**_api(server)) as client:
        client.profiles.create("office-2")
        with pytest.raises(
            ProfileLookupError, match=r"no profile named 'office'.*create_profile=True"
        ):
            _open(playwright, profile="office", **_api(server))
        one, two = client.profiles.create("home"), client.profiles.create("home")
        with pytest.raises(
            ProfileLookupError, match=rf"2 profiles are named 'home' \({one.id}, {two.id}\)"
        ):
            _open(playwright, profile="home", **_api(server))
        assert client.billing.usage().model_extra["browsers"] == 0  # no browser for nothing


def test_create_profile_creates_a_missing_one_once(
    make_server: Callable[..., ServerThread], playwright: Playwright, tmp_path: Path
) -> None:
    # No credit: each create of a browser is refused (402) after the profile was looked up,
    # so this needs no browser. What it checks is the profile made, and made once.
    server = make_server(credit=0.0, data_dir=tmp_path)
    with BrowserUse(**_api(server)) as client:
        for _ in range(2):
            with pytest.raises(PaymentRequiredError):
                _open(playwright, profile="fresh", create_profile=True, **_api(server))
            assert [p.name for p in client.profiles.list(query="fresh")] == ["fresh"]
