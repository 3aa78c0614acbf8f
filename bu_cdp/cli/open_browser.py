"""``bu-cdp open``: a browser to connect anything to, until Ctrl-C.

Prints the browser's ``cdp_url`` (for Playwright, Puppeteer or any CDP client) and its live
view, keeps it until Ctrl-C or SIGTERM, then stops it. With no API configured the browser
comes from the embedded server, which lives exactly as long as this command.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import time
from collections.abc import Iterator
from typing import Any

from bu_cdp.cli.api import BROWSER_FIELDS, add_browser_options, browser_fields, client_for
from bu_cdp.cli.output import Output

POLL_SECONDS = 2.0


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a `kill`, a CI cancel) ends the wait like Ctrl-C, so the browser is stopped."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _open(args: argparse.Namespace, out: Output) -> int:
    with client_for(args) as client, _sigterm_as_interrupt():
        browser = client.browsers.create(**browser_fields(args, client))
        browser_id = str(browser.id)
        try:
            out.record(browser, BROWSER_FIELDS)
            print("Connect with Playwright: chromium.connect_over_cdp(cdp_url)", file=sys.stderr)
            print("Waiting; press Ctrl-C to stop the browser.", file=sys.stderr, flush=True)
            while True:
                time.sleep(POLL_SECONDS)
                browser = client.browsers.get(browser_id)
                if browser.status != "active":  # timed out, crashed, stopped elsewhere
                    out.record(browser, ("id", "status", "reason"))
                    return 1
        except KeyboardInterrupt:
            pass
        finally:
            if browser.status == "active":
                browser = client.browsers.stop(browser_id)
                print(f"stopped browser {browser_id}", file=sys.stderr)
                if browser.recording_url:
                    print(f"recording: {browser.recording_url}", file=sys.stderr)
    return 0


def add_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "open",
        parents=[common],
        help="create a browser, print its cdp_url and live_url, keep it until Ctrl-C",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_browser_options(parser)
    parser.set_defaults(run=_open)
