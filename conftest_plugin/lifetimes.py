"""Starting and stopping the remote browsers the fixtures own (the plugin's own fixtures and
``--bu-remote``'s alike): made through the session's client, stopped through the API when
their scope ends, and a stop that fails is the test's error, never an INTERNALERROR."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from conftest_plugin import loops
from conftest_plugin.options import server_of

if TYPE_CHECKING:
    from playwright.sync_api import Playwright

    from bu_cdp.client import BrowserUse
    from bu_cdp.remote import AsyncRemoteBrowser, RemoteBrowser


def start(
    stack: contextlib.ExitStack,
    client: BrowserUse,
    playwright: Playwright,
    options: dict[str, Any],
) -> RemoteBrowser:
    """A new browser, through the session's client unless its options name their own server;
    stopped when ``stack`` closes."""
    from bu_cdp.remote import RemoteBrowser

    remote = RemoteBrowser(playwright=playwright, **server_of(options, client=client), **options)
    remote.__enter__()
    stack.callback(stop, remote)
    return remote


def stop(remote: RemoteBrowser) -> None:
    """Disconnect and stop ``remote`` (again: a second call does nothing)."""
    if remote.status == "stopped":
        return
    try:
        with loops.sync_playwright_allowed():
            remote.__exit__(None, None, None)
    except Exception as exc:
        not_stopped(remote, exc)


def not_stopped(remote: RemoteBrowser | AsyncRemoteBrowser, exc: Exception) -> NoReturn:
    """Fails that teardown with a clear message, never an INTERNALERROR (the server's own
    timeout ends the browser)."""
    pytest.fail(f"could not stop remote browser {remote.id}: {exc}", pytrace=False)
