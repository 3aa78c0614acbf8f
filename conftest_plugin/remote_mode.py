"""``--bu-remote``: pytest-playwright's own fixtures, served by remote browsers.

Only the browser-level fixtures are replaced (``launch_browser``, ``browser``, and
``bu_playwright``, which becomes pytest-playwright's ``playwright``, since a thread has one sync
Playwright): pytest-playwright's ``new_context``, ``context``, ``page``,
``browser_context_args``, ``base_url``, ``--device``, its markers and its artifact options then
work on the remote browser as they do on a local one. A remote browser is stopped through the
API when its scope ends (one per worker, or one per test with ``--bu-scope function``) or when
the test calls ``browser.close()``.

``--video`` comes from the server's recording of the browser (``enable_recording``), not from
Playwright's own recorder: Playwright's needs an ffmpeg of its own download on the machine that
runs the tests, which a CI runner talking to remote browsers usually lacks, while the server
records every browser it runs. The recording spans the browser's life, so with a shared browser
it is the worker's whole run; ``--bu-scope function`` gives one video per test.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from bu_cdp.options import OPTION_NAMES
from conftest_plugin import lifetimes
from conftest_plugin.options import Settings

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from bu_cdp.remote import RemoteBrowser

# Launch options that describe the machine running the tests, not the browser: a remote one
# has its own executable, switches and environment.
LOCAL_ONLY = frozenset(
    {"executable_path", "channel", "args", "ignore_default_args", "env", "downloads_path",
     "chromium_sandbox", "handle_sigint", "handle_sigterm", "handle_sighup", "devtools",
     "traces_dir", "firefox_user_prefs", "artifacts_dir", "slow_mo"}
)  # fmt: skip


def _usage_problems(config: pytest.Config) -> list[str]:
    """pytest-playwright's options that cannot mean anything on a remote browser."""
    problems = []
    engines = set(config.getoption("--browser") or ()) - {"chromium"}
    if engines:
        problems.append(f"--browser {' '.join(sorted(engines))}: remote browsers are Chromium")
    if config.getoption("--headed"):
        problems.append("--headed: a remote browser has no window here; watch its live view")
    if config.getoption("--browser-channel"):
        problems.append("--browser-channel: the server chooses the remote browser's build")
    if config.getoption("--slowmo"):
        problems.append("--slowmo: not supported on remote browsers")
    if config.getoption("--playwright-debug", default=None):
        problems.append("--playwright-debug: needs a browser Playwright launched itself")
    return problems


def check_usage(config: pytest.Config) -> None:
    """Check the command line, before the plugin puts the remote fixtures over
    pytest-playwright's."""
    if not config.pluginmanager.has_plugin("playwright"):
        raise pytest.UsageError(
            "bu-cdp: --bu-remote serves pytest-playwright's fixtures, and pytest-playwright is "
            "not installed: pip install pytest-playwright (or use the remote_browser fixtures)"
        )
    problems = _usage_problems(config)
    if problems:
        raise pytest.UsageError("bu-cdp --bu-remote: " + "; ".join(problems))


def remote_options(settings: Settings, launch_args: Mapping[str, Any]) -> dict[str, Any]:
    """``RemoteBrowser`` options for a browser pytest-playwright would launch with
    ``launch_args``: the suite's (``--bu-*``), then the launch options that mean something
    remotely. ``launch_browser(screen=(800, 600))`` takes ``RemoteBrowser`` options too, but
    ``timeout`` is Playwright's launch timeout there (the lifetime is ``--bu-timeout``)."""
    options = dict(settings.browser_options)
    ignored = []
    for key, value in launch_args.items():
        if key == "timeout":  # Playwright's, in milliseconds (a browser's lifetime: --bu-timeout)
            options["connect_timeout"] = value / 1000
        elif key in OPTION_NAMES:
            options[key] = value
        elif key == "proxy":
            options["custom_proxy"] = _custom_proxy(value)
        elif key == "headless":
            if value is False:
                pytest.fail("bu-cdp --bu-remote: headless=False: remote browsers run on the "
                            "server; watch one through its live view", pytrace=False)  # fmt: skip
        elif key in LOCAL_ONLY:
            ignored.append(key)
        else:
            pytest.fail(f"bu-cdp --bu-remote: unknown launch option {key!r}", pytrace=False)
    if ignored:
        warnings.warn(
            pytest.PytestWarning(
                f"bu-cdp --bu-remote: launch options {', '.join(sorted(ignored))} describe a "
                "local browser; the remote one ignores them"
            ),
            stacklevel=2,
        )
    return options


def _custom_proxy(proxy: Mapping[str, Any]) -> dict[str, Any]:
    """Playwright's ``proxy={"server": "http://host:port", ...}`` as a ``custom_proxy``."""
    address = urlsplit(proxy["server"] if "://" in proxy["server"] else "http://" + proxy["server"])
    if address.hostname is None or address.port is None:
        pytest.fail(f"bu-cdp --bu-remote: proxy server needs host:port, got {proxy['server']!r}")
    custom = {"host": address.hostname, "port": address.port, "scheme": address.scheme}
    return custom | {k: proxy[k] for k in ("username", "password") if proxy.get(k)}


def closed_by_stop(remote: RemoteBrowser) -> Callable[[], None]:
    """``browser.close()`` on a remote browser stops it through the API, as closing a launched
    browser ends it. Returns what puts Playwright's own close (a disconnect) back."""
    browser = remote.browser
    disconnect = browser.close

    def restore() -> None:
        browser.close = disconnect  # type: ignore[method-assign]

    def close(**_: Any) -> None:
        restore()
        lifetimes.stop(remote)

    browser.close = close  # type: ignore[method-assign]
    return restore


def without_video(browser: Browser) -> None:
    """The video comes from the server's recording (see the module's notes)."""
    new_context = browser.new_context

    def without_video(**kwargs: Any) -> Any:
        kwargs.pop("record_video_dir", None), kwargs.pop("record_video_size", None)
        return new_context(**kwargs)

    browser.new_context = without_video  # type: ignore[method-assign]


class Launcher:
    """pytest-playwright's ``launch_browser``: ``launch_browser(**launch_options)``."""

    def __init__(self, make: Callable[[dict[str, Any]], RemoteBrowser]) -> None:
        self.make = make
        self.remotes: dict[int, RemoteBrowser] = {}

    def __call__(self, **launch_options: Any) -> Browser:
        remote = self.make(launch_options)
        self.remotes[id(remote.browser)] = remote
        return remote.browser

    def remote_of(self, browser: Browser) -> RemoteBrowser:
        return self.remotes[id(browser)]
