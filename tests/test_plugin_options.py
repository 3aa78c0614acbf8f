"""The plugin's options and its marker (where each value comes from, clear errors), the
names of artifact folders, and the SIGTERM handler's manners.

These read a pytest configuration in-process (no browser is started); the end-to-end runs in
test_plugin.py show the values reach the browsers.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from conftest_plugin.artifacts import folder_for
from conftest_plugin.options import (
    OPTIONS,
    OptionError,
    Settings,
    keyword_options,
    marker_options,
)
from conftest_plugin.plugin import SETTINGS, _on_sigterm

# Two good raw values per option, and what each becomes.
FIRST: dict[str, tuple[str, Any]] = {
    "base_url": ("http://first.example/api/v3", "http://first.example/api/v3"),
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


def expected(pytester: pytest.Pytester, values: dict[str, tuple[str, Any]]) -> Settings:
    fields = {name: value for name, (_, value) in values.items()}
    fields["output"] = pytester.path / fields["output"]
    return Settings(**fields)


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
    assert settings.browser_options() == {}
    assert (settings.scope, settings.screenshot, settings.tracing) == (
        "function",
        "only-on-failure",
        "off",
    )
    assert settings.output == pytester.path / "test-results"


def test_browser_options_name_what_remote_browser_takes(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_from(pytester, monkeypatch, cli=FIRST)
    assert settings.browser_options() == {
        "profile": "profile-1",
        "proxy_country_code": "de",
        "screen": (1024, 768),
        "timeout": 15,
        "enable_recording": True,
    }


@pytest.mark.parametrize(
    ("source", "name", "raw", "message"),
    [
        ("cli", "screen", "1280", "command line --bu-screen = '1280': expected WIDTHxHEIGHT"),
        ("ini", "timeout", "0", "ini key bu_timeout = '0': expected whole minutes from 1 to 240"),
        ("env", "scope", "class", "BU_CDP_SCOPE = 'class': expected one of function, module, "),
        ("cli", "tracing", "always", "--bu-tracing = 'always': expected one of on, off, retain"),
        ("env", "recording", "maybe", "BU_CDP_RECORDING = 'maybe': expected on or off"),
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


def mark(*args: Any, **kwargs: Any) -> pytest.Mark:
    return getattr(pytest.mark.remote_browser(*args, **kwargs), "mark")  # noqa: B009


def test_marker_keywords_become_remote_browser_options() -> None:
    closest = mark(screen=[800, 600], profile=None)
    farther = mark(screen=(1, 1), profile="p", proxy_country_code="us", enable_recording=True)
    assert marker_options([closest, farther]) == {
        "screen": (800, 600),  # the closest marker wins
        "profile": None,  # None unsets the suite's profile
        "proxy_country_code": "us",
        "enable_recording": True,
    }


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ({"screen_size": (1, 1)}, "unknown keyword 'screen_size'; known: profile, "),
        ({"screen": (800,)}, "screen=(800,), expected (width, height) in pixels"),
        ({"screen": (800, 0)}, "screen=(800, 0), expected (width, height) in pixels"),
        ({"timeout": True}, "timeout=True, expected whole minutes from 1 to 240"),
        ({"timeout": 241}, "timeout=241, expected whole minutes from 1 to 240"),
        ({"enable_recording": "yes"}, "enable_recording='yes', expected True or False"),
        ({"profile": ""}, "profile='', expected a profile id"),
    ],
)
def test_bad_marker_keywords_are_named(keywords: dict[str, Any], message: str) -> None:
    with pytest.raises(OptionError) as caught:
        marker_options([mark(**keywords)])
    assert message in str(caught.value)
    with pytest.raises(OptionError, match="new_remote_browser"):
        keyword_options(keywords, "new_remote_browser()")


def test_marker_takes_keywords_only() -> None:
    with pytest.raises(OptionError, match="keywords only"):
        marker_options([mark("p-1")])


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
        assert signal.getsignal(signal.SIGTERM) is _on_sigterm
        config._ensure_unconfigure()
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL

        signal.signal(signal.SIGTERM, theirs)
        config = pytester.parseconfigure()
        assert signal.getsignal(signal.SIGTERM) is theirs
        config._ensure_unconfigure()
        assert signal.getsignal(signal.SIGTERM) is theirs
    finally:
        signal.signal(signal.SIGTERM, outer)
