"""What a test's report carries about its remote browsers: the screenshot of a failure, the
recording of a failed test copied next to it, ``user_properties`` (so JUnit XML has them), links
in pytest-html's report when it is installed, and the terminal summary of failed tests."""

from __future__ import annotations

import base64
import os
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from conftest_plugin import artifacts
from conftest_plugin.browsers import BrowserHandle, screenshot
from conftest_plugin.options import Settings

EXTRAS_MADE = pytest.StashKey[set[tuple[str, str]]]()  # the properties already linked in HTML
SHOWN = ("bu_", "playwright_")  # the summary's properties: ours, and pytest-playwright's files
LINKS = {  # user property -> the name of its pytest-html link
    "bu_trace": "Trace",
    "bu_live_url": "Live view",
    "bu_recording_url": "Recording (server)",
    "bu_recording": "Recording",
    "bu_video": "Video",
}


def add_to_report(
    item: pytest.Item,
    report: pytest.TestReport,
    handles: list[BrowserHandle],
    settings: Settings,
    failed: bool,
) -> None:
    """Fill ``report`` (of any phase) with what the test's browsers left behind."""
    wanted = report.failed or (report.when == "call" and settings.screenshot == "on")
    if wanted and report.when != "teardown" and settings.screenshot != "off":
        # The test's fixtures are not torn down yet: the page still shows the failure.
        for handle in handles:
            if handle.page is not None and (problem := screenshot(handle, settings.output)):
                item.warn(pytest.PytestWarning(problem))
    if report.when == "teardown" and (failed or report.failed):
        for handle in handles:  # stopped by now, in the function scope: keep the recording
            if (problem := keep_recording(handle, settings.output)) is not None:
                item.warn(pytest.PytestWarning(problem))
    for handle in handles:
        new = [prop for prop in handle.properties() if prop not in report.user_properties]
        report.user_properties.extend(new)
    add_html_extras(item, report)


def keep_recording(handle: BrowserHandle, output: Path, name: str = "recording.webm") -> str | None:
    """Copy the server's recording of a stopped browser next to the test's other artifacts
    (the server's URL may not outlive the run: the embedded server's does not)."""
    url = handle.recording_url
    if not url or any(name == "bu_recording" for name, _ in handle.saved):
        return None
    import httpx

    path = artifacts.new_file(output, handle.folder, name, handle.index)
    try:
        with httpx.stream("GET", url, timeout=60, follow_redirects=True) as answer:
            answer.raise_for_status()
            with path.open("wb") as file:
                for chunk in answer.iter_bytes():
                    file.write(chunk)
    except (httpx.HTTPError, OSError) as exc:
        path.unlink(missing_ok=True)
        return f"could not copy the recording of browser {handle.id}: {exc}"
    handle.saved.append(("bu_recording", str(path)))
    return None


def add_html_extras(item: pytest.Item, report: pytest.TestReport) -> None:
    """Links to the artifacts and the browser in pytest-html's report, once per test."""
    config = item.config
    html = config.pluginmanager.getplugin("html")
    html_path = getattr(config.option, "htmlpath", None)
    if html is None or not html_path:
        return
    made = item.stash.setdefault(EXTRAS_MADE, set())
    report_folder = Path(config.invocation_params.dir, os.path.expandvars(html_path)).parent
    extras: list[Any] = getattr(report, "extras", [])
    for name, value in report.user_properties:
        if not isinstance(value, str) or (name, value) in made:
            continue
        if name == "bu_screenshot" and Path(value).is_file():
            png = base64.b64encode(Path(value).read_bytes()).decode()
            extras.append(html.extras.png(png, name="Screenshot"))
        elif name in LINKS:
            link = value if "://" in value else _relative_link(value, report_folder)
            extras.append(html.extras.url(link, name=LINKS[name]))
        else:
            continue
        made.add((name, value))
    report.extras = extras  # type: ignore[attr-defined]


def _relative_link(path: str, folder: Path) -> str:
    return urllib.parse.quote(Path(os.path.relpath(path, folder)).as_posix())


def write_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The failed tests with their browsers and where their artifacts are."""
    stats = terminalreporter.stats
    failed: dict[str, dict[tuple[str, str], None]] = {
        report.nodeid: {} for report in stats.get("failed", []) + stats.get("error", [])
    }
    # Every report of a failed test counts: the recording comes with the teardown's.
    for report in (report for reports in stats.values() for report in reports):
        if getattr(report, "nodeid", None) in failed:
            props = getattr(report, "user_properties", ())
            failed[report.nodeid].update((p, None) for p in props if p[0].startswith(SHOWN))
    if any(failed.values()):
        terminalreporter.write_sep("-", "remote browsers of failed tests")
    for nodeid, props in failed.items():
        if props:
            terminalreporter.write_line(nodeid)
            for name, value in props:
                terminalreporter.write_line(f"    {name.split('_', 1)[1]}: {value}")
