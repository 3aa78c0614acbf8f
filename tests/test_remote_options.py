"""RemoteBrowser options: checked at the call, and a profile chosen by name.

Option checks need no server at all. Profile-name resolution is played through an httpx
MockTransport: the local server does not serve /profiles on this branch yet (it answers 501),
so the answers a profiles API gives (one match, several, none, created) come from the mock.
The end-to-end profile test against the real server is in test_remote_profiles.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from bu_cdp import AsyncRemoteBrowser, BrowserUse, RemoteBrowser, async_remote_browser
from bu_cdp import remote_browser as remote_browser_cm
from bu_cdp.errors import PaymentRequiredError, ProfileLookupError

KEY = "sk-test-key-for-options"
WORK_ID = "0b8e4c2a-1f5d-4a47-9a51-6f2d1c3b9e01"


@pytest.mark.parametrize("make", [RemoteBrowser, AsyncRemoteBrowser, remote_browser_cm])
def test_an_unknown_option_is_a_type_error_at_the_call(make: Callable[..., Any]) -> None:
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'scren'.*'screen'"):
        make(scren=(800, 600))


def test_async_one_liner_checks_options_at_the_call_too() -> None:
    with pytest.raises(TypeError, match="proxy_country"):
        async_remote_browser(proxy_country="us")  # type: ignore[call-arg]


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


class ProfilesApi:
    """Plays a profiles API and records what RemoteBrowser asked for.

    The create of the browser is answered 402, so the test ends before any connect: what it
    checks is the request that would have created the browser.
    """

    def __init__(self, profiles: list[dict[str, str]]) -> None:
        self.profiles = profiles
        self.requests: list[tuple[str, str]] = []
        self.browser_body: dict[str, Any] | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/v3")
        self.requests.append((request.method, path))
        if request.method == "GET" and path == "/profiles":
            query = request.url.params.get("query", "")
            # Like a real search: a substring match, so exact matching is the client's job.
            return httpx.Response(200, json=[p for p in self.profiles if query in p["name"]])
        if request.method == "POST" and path == "/profiles":
            made = {"id": "new-profile-id", "name": json.loads(request.content)["name"]}
            self.profiles.append(made)
            return httpx.Response(200, json=made)
        if request.method == "POST" and path == "/browsers":
            self.browser_body = json.loads(request.content)
            return httpx.Response(402, json={"detail": "no credit (mock)"})
        return httpx.Response(404, json={"detail": "not in this mock"})


def _open(api: ProfilesApi, **options: Any) -> None:
    client = BrowserUse(
        api_key=KEY, base_url="https://api.test/api/v3", transport=httpx.MockTransport(api)
    )
    playwright: Any = SimpleNamespace(chromium=None)  # never reached: the create answers 402
    with client, RemoteBrowser(client=client, playwright=playwright, **options):
        pass


def test_a_profile_name_is_matched_exactly_and_its_id_sent() -> None:
    api = ProfilesApi([{"id": "p-work", "name": "work"}, {"id": "p-work2", "name": "work-2"}])
    with pytest.raises(PaymentRequiredError):
        _open(api, profile="work")
    assert ("GET", "/profiles") in api.requests
    assert api.browser_body == {"profile_id": "p-work"}


def test_a_profile_id_is_used_as_it_is() -> None:
    api = ProfilesApi([])
    with pytest.raises(PaymentRequiredError):
        _open(api, profile=WORK_ID)
    assert api.browser_body == {"profile_id": WORK_ID}
    assert ("GET", "/profiles") not in api.requests

    api = ProfilesApi([])
    with pytest.raises(PaymentRequiredError):
        _open(api, profile_id="any-id-at-all")
    assert api.browser_body == {"profile_id": "any-id-at-all"}


def test_a_missing_profile_name_is_a_clear_error_and_creates_nothing() -> None:
    api = ProfilesApi([{"id": "p-1", "name": "work-2"}])
    with pytest.raises(ProfileLookupError, match=r"no profile named 'work'.*create_profile=True"):
        _open(api, profile="work")
    assert api.browser_body is None  # no browser was created for nothing


def test_an_ambiguous_profile_name_is_a_clear_error() -> None:
    api = ProfilesApi([{"id": "p-1", "name": "work"}, {"id": "p-2", "name": "work"}])
    with pytest.raises(ProfileLookupError, match=r"2 profiles are named 'work' \(p-1, p-2\)"):
        _open(api, profile="work")
    assert api.browser_body is None


def test_create_profile_creates_a_missing_one_then_uses_it() -> None:
    api = ProfilesApi([])
    with pytest.raises(PaymentRequiredError):
        _open(api, profile="work", create_profile=True)
    assert ("POST", "/profiles") in api.requests
    assert api.browser_body == {"profile_id": "new-profile-id"}

    # The second time the name is found, not created again.
    api.requests.clear()
    with pytest.raises(PaymentRequiredError):
        _open(api, profile="work", create_profile=True)
    assert ("POST", "/profiles") not in api.requests


def test_every_option_reaches_the_create_in_the_spec_names() -> None:
    api = ProfilesApi([])
    with pytest.raises(PaymentRequiredError):
        _open(
            api,
            proxy_country_code="de",
            custom_proxy={"host": "proxy.local", "port": 3128},
            screen=(1024, 768),
            timeout=5,
            enable_recording=True,
        )
    assert api.browser_body == {
        "proxy_country_code": "de",
        "custom_proxy": {"host": "proxy.local", "port": 3128},
        "browserScreenWidth": 1024,
        "browserScreenHeight": 768,
        "timeout": 5,
        "enable_recording": True,
    }
