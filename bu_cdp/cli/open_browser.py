"""``bu-cdp open``: a browser to connect anything to, until Ctrl-C.

Prints the browser's ``cdp_url`` (for Playwright, Puppeteer or any CDP client) and its live
view, keeps it until Ctrl-C, SIGTERM or SIGHUP, then stops it. With no API configured the
browser comes from the embedded server, which lives exactly as long as this command.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from bu_cdp import _exits
from bu_cdp.cli.api import (
    BROWSER_FIELDS,
    add_browser_options,
    browser_fields,
    browser_plan,
)
from bu_cdp.cli.output import Output, Waiting
from bu_cdp.cli.shared import client_for
from bu_cdp.models import Browser

POLL_SECONDS = 2.0


def _open(args: argparse.Namespace, out: Output) -> int:
    plan = browser_plan(args)
    # SIGTERM (a `kill`, a CI cancel) and SIGHUP (the terminal closed) end the wait like
    # Ctrl-C, so the browser is stopped.
    with client_for(args) as client, _exits.sigterm_interrupts(hangup=True):
        with Waiting("creating a browser"):
            browser = client.browsers.create(**browser_fields(client, plan))
        browser_id = str(browser.id)
        where = client.target
        _exits.created(where, browser_id)  # as a RemoteBrowser's
        ended: Browser | None = None
        try:
            out.record(browser, BROWSER_FIELDS)  # the one answer on stdout (one JSON document)
            sys.stdout.flush()
            print("Connect with Playwright: chromium.connect_over_cdp(cdp_url)", file=sys.stderr)
            print("Waiting; press Ctrl-C to stop the browser.", file=sys.stderr, flush=True)
            while True:
                time.sleep(POLL_SECONDS)
                browser = client.browsers.get(browser_id)
                if browser.status != "active":  # timed out, crashed, stopped elsewhere
                    ended = browser
                    break
        except KeyboardInterrupt:
            pass
        finally:
            # A second Ctrl-C or SIGTERM must not cut the stop short.
            with _exits.signals_ignored():
                if browser.status == "active":
                    browser = client.browsers.stop(browser_id)
                    print(f"stopped browser {browser_id}", file=sys.stderr)
                    if browser.recording_url:
                        print(f"recording: {browser.recording_url}", file=sys.stderr)
                _exits.stopped(where.base_url, browser_id)
    if ended is not None:
        why = (ended.model_extra or {}).get("reason")
        said = f" ({why})" if why else ""
        print(f"browser {browser_id} ended by itself: {ended.status}{said}", file=sys.stderr)
        return 1
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
    parser.set_defaults(run=_open, usage_error=parser.error)
