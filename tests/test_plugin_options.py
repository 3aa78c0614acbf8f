"""The plugin's options and its marker (where each value comes from, clear errors), the
names of artifact folders, what a test's handle shows, and the SIGTERM handler's manners.

These read a pytest configuration in-process (no browser is started); the end-to-end runs in
test_plugin.py show the values reach the browsers.
"""

from __future__ import annotations

import signal
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest

from bu_cdp import _exits
from bu_cdp.remote import RemoteBrowser
from conftest_plugin.artifacts import folder_for
from conftest_plugin.browsers import BrowserHandle
from conftest_plugin.options import OPTIONS, Settings, options_for
from conftest_plugin.plugin import SETTINGS

# Two good raw values per option, and what each becomes.
FIRST: dict[str, tuple[str, Any]] = {
    "base_url": ("http://first.example/api/v3", "http://first.example/api/v3"),
    "api_dialect": ("Hosted", "hosted"),
    "profile": ("profile-1", "profile-1"),
    "proxy_country": ("de", "de"),
    "screen": ("1024x768", (1024, 768)),
    "timeout": ("15", 15),
    "recording": ("on", True),
    "scope": ("module", "module"),
    "output": ("artifacts-1", Path("artifacts-1")),
    "screenshot": ("on", "on"),
    "tracing": ("on", "on"),
}
SECOND: dict[str, tuple[str, Any]] = {
    "base_url": ("http://second.example/api/v3", "http://second.example/api/v3"),
    "api_dialect": ("seed", "seed"),
    "profile": ("profile-2", "profile-2"),
    "proxy_country": ("fr", "fr"),
    "screen": ("800x600", (800, 600)),
    "timeout": ("240", 240),
    "recording": ("off", False),
    "scope": ("session", "session"),
    "output": ("artifacts-2", Path("artifacts-2")),
    "screenshot": ("off", "off"),
    "tracing": ("retain-on-failure", "retain-on-failure"),
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for option in OPTIONS:
        monkeypatch.delenv(option.env, raising=False)


def settings_from(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    *,
    cli: dict[str, tuple[str, Any]] | None = None,
    ini: dict[str, tuple[str, Any]] | None = None,
    env: dict[str, tuple[str, Any]] | None = None,
) -> Settings:
    by_name = {option.name: option for option in OPTIONS}
    for name, (raw, _) in (env or {}).items():
        monkeypatch.setenv(by_name[name].env, raw)
    lines = [f"{by_name[name].ini} = {raw}" for name, (raw, _) in (ini or {}).items()]
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n" + "\n".join(lines))
    args = [arg for name, (raw, _) in (cli or {}).items() for arg in (by_name[name].flag, raw)]
    return pytester.parseconfigure(*args).stash[SETTINGS]


BROWSER_OPTIONS = {  # what each option sets on every browser, in RemoteBrowser's words
    "profile": "profile",
    "proxy_country": "proxy_country_code",
    "screen": "screen",
    "timeout": "timeout",
    "recording": "enable_recording",
}


def expected(pytester: pytest.Pytester, values: dict[str, tuple[str, Any]]) -> Settings:
    own = {name: value for name, (_, value) in values.items() if name not in BROWSER_OPTIONS}
    own["output"] = pytester.path / own["output"]
    browser = {BROWSER_OPTIONS[name]: values[name][1] for name in BROWSER_OPTIONS}
    return Settings(**own, browser_options=browser)


@pytest.mark.parametrize("source", ["cli", "ini", "env"])
def test_every_option_from_each_source(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    settings = settings_from(pytester, monkeypatch, **{source: FIRST})
    assert settings == expected(pytester, FIRST)


def test_command_line_beats_ini_beats_environment(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    half = {name: FIRST[name] for name in list(FIRST)[::2]}
    settings = settings_from(pytester, monkeypatch, cli=half, ini=FIRST, env=SECOND)
    assert settings == expected(pytester, {**SECOND, **FIRST})
    settings = settings_from(pytester, monkeypatch, cli=half, ini={}, env=SECOND)
    assert settings == expected(pytester, {**SECOND, **half})


def test_defaults(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_from(pytester, monkeypatch)
    assert settings.browser_options == {}
    assert (settings.scope, settings.screenshot, settings.tracing) == (
        "function",
        "only-on-failure",
        "off",
    )
    assert settings.output == pytester.path / "test-results"
    assert settings.api_dialect == "auto"


@pytest.mark.parametrize(
    ("source", "name", "raw", "message"),
    [
        ("cli", "screen", "1280", "command line --bu-screen = '1280': expected WIDTHxHEIGHT"),
        # Read and checked as the command's --screen and --timeout are (bu_cdp.options).
        (
            "env",
            "screen",
            "0x720",
            "environment variable BU_CDP_SCREEN = '0x720': expected WIDTHxHEIGHT in pixels",
        ),
        ("ini", "timeout", "0", "ini key bu_timeout = '0': expected whole minutes from 1 to 240"),
        ("cli", "timeout", "soon", "--bu-timeout = 'soon': expected whole minutes"),
        ("env", "scope", "class", "BU_CDP_SCOPE = 'class': expected one of function, module, "),
        ("cli", "tracing", "always", "--bu-tracing = 'always': expected one of on, off, retain"),
        ("env", "recording", "maybe", "BU_CDP_RECORDING = 'maybe': expected on or off"),
        ("ini", "api_dialect", "v2", "bu_api_dialect = 'v2': expected one of auto, seed, hosted"),
    ],
)
def test_a_bad_value_is_a_usage_error_naming_where_it_came_from(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    source: str,
    name: str,
    raw: str,
    message: str,
) -> None:
    with pytest.raises(pytest.UsageError) as caught:
        settings_from(pytester, monkeypatch, **{source: {name: (raw, None)}})
    assert message in str(caught.value)


def test_the_api_key_has_no_command_line_option(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function")
    result = pytester.runpytest_inprocess("--help")
    help_text = result.stdout.str()
    assert all(option.flag in help_text for option in OPTIONS)
    assert "api-key" not in help_text and "api_key" not in help_text


MARKED = """
import pytest

pytestmark = pytest.mark.remote_browser(screen=(1, 1), proxy_country_code="us", timeout=5)

@pytest.mark.remote_browser(screen=[800, 600], profile=None)
def test_func():
    pass
"""


def test_marker_keywords_over_the_suite_options(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function")
    item = pytester.getitem(MARKED)
    suite = {"profile": "p", "timeout": 9, "api_key": "k"}
    assert options_for(item, suite) == {
        "screen": [800, 600],  # the closest marker wins
        "proxy_country_code": "us",
        "timeout": 5,  # a marker beats the suite
        "api_key": "k",  # the options that name a server are the suite's own business
    }  # profile=None removed the suite's profile
    assert options_for(item, suite, {"timeout": 3, "proxy_country_code": None}) == {
        "screen": [800, 600],
        "timeout": 3,  # new_remote_browser's keywords beat the marker
        "api_key": "k",
    }


@pytest.mark.parametrize(
    ("marker", "keywords", "said"),
    [
        ("(screeen=(1, 1))", {}, "@pytest.mark.remote_browser() got an unexpected keyword*"),
        ("(screeen=None)", {}, "@pytest.mark.remote_browser() got an unexpected keyword*"),
        ("(screen=(800,))", {}, "@pytest.mark.remote_browser: screen*(800,)*"),
        ("(screen=(800, 0))", {}, "@pytest.mark.remote_browser: screen*(800, 0)*"),
        ("(timeout=True)", {}, "@pytest.mark.remote_browser: timeout*True*"),
        ("(timeout=241)", {}, "@pytest.mark.remote_browser: timeout*241*"),
        ("(profile='')", {}, "@pytest.mark.remote_browser*profile*''*"),
        ("(profile_id='x')", {}, "@pytest.mark.remote_browser*profile= or profile_id=*"),
        ("('p-1')", {}, "@pytest.mark.remote_browser takes keywords only, got ('p-1',)"),
        ("()", {"screen_size": (1, 1)}, "new_remote_browser() got an unexpected keyword*"),
        ("()", {"timeout": 0}, "new_remote_browser: timeout*0*"),
    ],
)
def test_a_bad_marker_or_keyword_fails_the_test_naming_it(
    pytester: pytest.Pytester, marker: str, keywords: dict[str, Any], said: str
) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function")
    item = pytester.getitem(
        f"import pytest\n@pytest.mark.remote_browser{marker}\ndef test_func(): pass"
    )
    with pytest.raises(pytest.fail.Exception) as caught:
        options_for(item, {"profile": "suite-profile"}, keywords)
    assert fnmatch(str(caught.value), said), str(caught.value)


def test_the_handle_repr_keeps_options_out() -> None:
    """pytest prints the handle in assertion messages; its options may hold secrets."""
    options: dict[str, Any] = {
        "api_key": "sk-secret-key",
        "custom_proxy": {"host": "proxy", "port": 3128, "password": "hunter2"},
    }
    handle = BrowserHandle(RemoteBrowser(**options), options, Path("out"), 0)
    assert repr(handle) == "BrowserHandle(id=None, reused=False)"
    assert handle.id is None and handle.live_url is None  # the remote browser's, forwarded
    with pytest.raises(AttributeError):
        handle.no_such_thing  # noqa: B018


@pytest.mark.parametrize(
    ("nodeid", "folder"),
    [
        ("tests/test_a.py::test_b[x/1]", "tests-test_a.py-test_b-x-1"),
        ("../up.py::Test::test_c[..]", "up.py-Test-test_c"),
    ],
)
def test_artifact_folders_are_safe_names_inside_the_output(nodeid: str, folder: str) -> None:
    assert folder_for(Path("out"), nodeid) == Path("out", folder)


def test_long_test_ids_are_shortened_and_stay_distinct() -> None:
    first = folder_for(Path("out"), "t.py::test[" + "a" * 300 + "]")
    second = folder_for(Path("out"), "t.py::test[" + "a" * 299 + "b]")
    assert first != second and len(first.name) < 120 and first.parent == Path("out")


def test_sigterm_handler_only_replaces_the_default_and_is_restored(
    pytester: pytest.Pytester,
) -> None:
    def theirs(signum: int, frame: object) -> None:
        pass

    outer = signal.getsignal(signal.SIGTERM)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function")
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        config = pytester.parseconfigure()
        assert _exits.unwinds_on_sigterm()  # bu-cdp's own handler
        config._ensure_unconfigure()
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL

        signal.signal(signal.SIGTERM, theirs)
        config = pytester.parseconfigure()
        assert signal.getsignal(signal.SIGTERM) is theirs
        config._ensure_unconfigure()
        assert signal.getsignal(signal.SIGTERM) is theirs
    finally:
        signal.signal(signal.SIGTERM, outer)
