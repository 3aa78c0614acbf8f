"""``bu-cdp doctor``: is this machine ready, and if not, what to do about it.

Each check prints what it found, and for a problem the fix. The exit status is 1 if any
check failed, so CI can run it first.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from bu_cdp.cli.output import Output
from bu_cdp.client import BrowserUse
from bu_cdp.errors import APIConnectionError, APIError, AuthenticationError, ConfigurationError
from bu_cdp.settings import (
    API_KEY_ENV,
    BASE_URL_ENV,
    DIALECT_ENV,
    Target,
    configured_target,
    missing_api_path,
)
from bu_cdp.wire import VERSION as __version__


@dataclass
class Check:
    name: str
    ok: bool
    found: str
    fix: str = ""


def _versions() -> Check:
    try:
        playwright = metadata.version("playwright")
    except metadata.PackageNotFoundError:
        return Check("versions", False, f"bu-cdp {__version__}", "pip install playwright")
    found = f"bu-cdp {__version__}, Python {platform.python_version()}, Playwright {playwright}"
    return Check("versions", True, found)


def _chromium(explicit: str | None) -> tuple[Check, str | None]:
    from bu_cdp.server.chromium.launch import find_chromium

    try:
        path = find_chromium(explicit)
    except ConfigurationError as exc:
        fix = "apt-get install -y chromium (Debian/Ubuntu), or set BU_CDP_CHROMIUM to its path"
        return Check("chromium", False, str(exc), fix), None
    try:
        done = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
        version = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "?"
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("chromium", False, f"{path} does not run: {exc}", "reinstall Chromium"), None
    return Check("chromium", True, f"{version} at {path}"), path


def _chromium_starts(path: str) -> Check:
    """Start Chromium as the server does (headless, our flags) and wait for its DevTools port."""
    from bu_cdp.server.chromium.launch import DEFAULT_WINDOW, LaunchError, launch, log_tail, plan_in

    with tempfile.TemporaryDirectory(prefix="bu-cdp-doctor-") as scratch:
        plan = plan_in(Path(scratch), path, DEFAULT_WINDOW, run_as=None)

        async def start_and_stop() -> float:
            started = time.monotonic()
            process = await launch(plan, timeout=30)
            try:
                return time.monotonic() - started
            finally:
                await process.kill()

        try:
            elapsed = asyncio.run(start_and_stop())
        except LaunchError as exc:
            fix = "see the log above; as root the server already adds --no-sandbox"
            return Check("chromium starts", False, f"{exc}: {log_tail(plan.log_path)}", fix)
        finally:  # outside the scratch folder where its path would be too long for a socket
            shutil.rmtree(plan.tmp_dir, ignore_errors=True)
    return Check("chromium starts", True, f"headless, DevTools up in {elapsed:.2f}s")


def _dialect(target: Target) -> str:
    """Which dialect the target speaks, and why (docs/dialects.md)."""
    chosen = os.environ.get(DIALECT_ENV, "").strip().lower()
    if chosen in ("seed", "hosted"):
        why = f"set by {DIALECT_ENV}"
    elif target.dialect == "hosted":
        why = "auto: a Browser Use host"
    else:
        why = "auto: not a Browser Use host"
    return f"the {target.dialect} dialect ({why})"


def _api(base_url: str | None) -> Check:
    try:
        target = configured_target(base_url=base_url)
    except ConfigurationError as exc:
        return Check("api", False, str(exc), f"set {BASE_URL_ENV} to the API's address")
    except ValueError as exc:
        return Check("api", False, str(exc), f"set {DIALECT_ENV} to seed, hosted or auto")
    if target is None:
        return Check(
            "api",
            True,
            f"no {API_KEY_ENV} or {BASE_URL_ENV}: browsers come from the embedded local server",
        )
    url = target.base_url
    try:
        with BrowserUse(
            base_url=url, api_key=target.api_key, dialect=target.dialect, timeout=15, max_retries=0
        ) as client:
            client.billing.balance()
    except AuthenticationError as exc:
        what = "was refused" if target.api_key else "is needed"
        return Check("api", False, f"{url} answers {exc.status_code}: the key {what}",
                     f"set {API_KEY_ENV} to a valid key")  # fmt: skip
    except APIConnectionError as exc:
        fix = f"check {BASE_URL_ENV} and the network (a proxy? HTTPS_PROXY is honoured)"
        return Check("api", False, f"cannot reach {url}: {exc}", fix)
    except APIError as exc:
        hint = missing_api_path(exc, base_url, "--base-url")
        if hint:
            found, fix = hint.split("; ", 1)
            return Check("api", False, found, fix)
        fix = f"check the server, or {DIALECT_ENV} (it speaks {_dialect(target)})"
        return Check("api", False, f"{url} answers {exc}", fix)
    return Check("api", True, f"{url} reachable, key accepted, speaking {_dialect(target)}")


def _data_folder() -> Check:
    from bu_cdp.server.storage.store import default_data_dir

    folder = default_data_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder):
            pass
    except OSError as exc:
        return Check(
            "data folder", False, f"{folder}: {exc}", "set BU_CDP_HOME to a writable folder"
        )
    return Check("data folder", True, f"{folder} (profiles, workspaces, billing of local servers)")


def _isolation() -> Check:
    """Reported, not failed: a server run by a person as themself is a fair local setup."""
    from bu_cdp.server.chromium.isolation import status

    found = status()
    fix = "" if found.separate_users else "run bu-cdp serve as root to give each browser a uid"
    return Check("isolation", True, found.describe(), fix)


def _agent() -> Check:
    from bu_cdp.server.sessions.agent.llm import describe_setup

    ok, found = describe_setup()
    return Check("agent sessions", ok, found, "" if ok else "see docs/agent-sessions.md")


def _run(args: argparse.Namespace, out: Output) -> int:
    checks: list[Check] = []

    def add(check: Check) -> None:
        checks.append(check)
        if not out.as_json:
            mark = "ok  " if check.ok else "FAIL"
            print(f"[{mark}] {check.name}: {check.found}")
            if check.fix:
                print(f"       fix: {check.fix}")

    add(_versions())
    add(_data_folder())
    add(_isolation())
    chromium, path = _chromium(args.chromium)
    add(chromium)
    if path is not None:
        add(_chromium_starts(path))
    add(_api(args.base_url))
    add(_agent())
    if out.as_json:
        out.message("", checks=[check.__dict__ for check in checks])
    return 0 if all(check.ok for check in checks) else 1


def add_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "doctor", parents=[common], help="check Chromium and the API, and say how to fix problems"
    )
    parser.add_argument("--chromium", default=None, help="check this Chromium instead")
    parser.set_defaults(run=_run, usage_error=parser.error)
