"""The embedded default started while pytest still loads its plugins, when the command line
asks for remote browsers: it boots beside that (a second or so on a typical install) instead
of beside the first test, which then finds it ready.

Only on an explicit ask (``--bu-remote`` or ``--bu-scope``, on the command line or in
``PYTEST_ADDOPTS``), and not where it would serve nothing: a run pointed at another server
(``--bu-base-url``, ``BU_CDP_BASE_URL``, ``BROWSER_USE_API_KEY``), an xdist controller (each
worker has a server of its own), a run that only lists or explains. Whatever the settings
decide later, a server started early and never used is stopped at exit, as any other.
"""

from __future__ import annotations

import contextlib
import os
import shlex
from collections.abc import Mapping, Sequence

ELSEWHERE_ENV = ("BU_CDP_BASE_URL", "BROWSER_USE_API_KEY")
LISTING = frozenset(
    {"--collect-only", "--co", "--help", "-h", "--version", "-V", "--fixtures", "--markers"}
)


def plan(argv: Sequence[str], environ: Mapping[str, str]) -> str | None:
    """The browser scope the run asks for ("session" when it reuses one browser), or None
    when the embedded default should not be started early."""
    words = [*shlex.split(environ.get("PYTEST_ADDOPTS", "")), *argv]
    if any(environ.get(name) for name in ELSEWHERE_ENV) or LISTING & set(words):
        return None
    if "PYTEST_XDIST_WORKER" in environ:  # started by its own first test, as ever
        return None
    scope, remote = None, False
    for index, word in enumerate(words):
        name, _, value = word.partition("=")
        if name == "--bu-base-url" or (_xdist(name) and not _no_workers(words, index)):
            return None
        if name == "--bu-remote":
            remote = True
        elif name == "--bu-scope":
            scope = value or (words[index + 1] if index + 1 < len(words) else None)
    if scope is None and not remote:
        return None
    return scope or "session"  # --bu-remote's one browser, unless a scope is asked for


def _xdist(name: str) -> bool:
    return name in ("--numprocesses", "--tx") or (name.startswith("-n") and name[:2] != "--")


def _no_workers(words: list[str], index: int) -> bool:
    """``-n 0`` / ``-n0`` / ``--numprocesses=0``: xdist is there, but runs no workers."""
    name, equals, value = words[index].partition("=")
    if not equals:
        if name.startswith("-n") and len(name) > 2 and name[:2] != "--":
            value = name[2:]  # -n0, -nauto
        else:
            value = words[index + 1] if index + 1 < len(words) else ""
    return value == "0"


def start_if_asked(argv: Sequence[str], environ: Mapping[str, str] = os.environ) -> None:
    scope = plan(argv, environ)
    if scope is None:
        return
    from bu_cdp import embedded

    if scope == "session":
        embedded.expect_one_browser()
    with contextlib.suppress(Exception):  # a bad setting is the first test's error, named
        embedded.embedded_server()
