"""Every way out of a process stops the browsers it made.

- SIGTERM: while a remote-browser block runs in the main thread, and only if the program has no
  SIGTERM handler of its own (the handler is ``SIG_DFL``), SIGTERM raises ``Terminated`` (a
  ``SystemExit`` and a ``KeyboardInterrupt``) in the main thread, so with-blocks unwind and
  stop their browsers as on Ctrl-C. The default comes back when the last block ends. A
  program's own handler is never replaced. ``sigterm_interrupts()`` is that, as a context
  manager for any code with cleanup to do (``bu-cdp open`` uses it, with SIGHUP too);
  ``block_entered()``/``block_left()`` are its two halves, for callers that cannot use a
  with-block. ``signals_ignored()`` shields a cleanup from a second signal.
- Interpreter exit: what this process created and did not stop (a stop that failed, a block
  entered and never left, a thread that died) is swept by an ``atexit`` hook, through the
  normal stop (so a profile is saved), before the embedded server ends. A browser of the
  embedded server kept with ``keep_alive`` is stopped there too: it cannot outlive its server.
- SIGKILL and crashes leave nothing to run: the ledger (``bu_cdp.ledger``) and the
  server-side timeout cover those.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING

from bu_cdp import ledger

if TYPE_CHECKING:
    from bu_cdp.settings import Target

log = logging.getLogger("bu_cdp")


class Terminated(SystemExit, KeyboardInterrupt):
    """SIGTERM (or SIGHUP, where asked for) arrived inside a remote-browser block.

    A ``SystemExit`` (uncaught, the program ends quietly with status 128 + the signal) that is
    also a ``KeyboardInterrupt``, so what treats Ctrl-C as "stop everything" — pytest ending
    its run rather than failing one test and going on, a CLI's interrupt path — does the same.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum


# -- SIGTERM -------------------------------------------------------------------------------

_lock = threading.Lock()
_depth: dict[int, int] = {}  # blocks open in the main thread, per signal
_installed: set[int] = set()  # signals whose handler is ours


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    exc = Terminated(signum)
    # Sync Playwright waits in a greenlet of its own; a signal that lands there must not
    # unwind Playwright's dispatcher (it would break the very connection the cleanup needs).
    # Raise it where the program's own code waits, in the root greenlet, instead.
    greenlet = sys.modules.get("greenlet")
    if greenlet is not None:
        current = greenlet.getcurrent()
        root = current
        while root.parent is not None:
            root = root.parent
        if root is not current:
            root.throw(exc)
            return
    raise exc


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _install(signum: int) -> bool:
    """Our handler for ``signum``, only over the default action; True if it was installed."""
    if signal.getsignal(signum) is not signal.SIG_DFL:
        return False  # the program's own handler is never replaced
    try:
        signal.signal(signum, _on_sigterm)
    except ValueError:  # not the main interpreter
        return False
    return True


def _uninstall(signum: int) -> None:
    # If the program set its own handler meanwhile, it stays.
    if signal.getsignal(signum) is _on_sigterm:
        signal.signal(signum, signal.SIG_DFL)


def _enter(signum: int) -> None:
    """One more block wants ``signum`` to interrupt (the lock held, in the main thread)."""
    _depth[signum] = _depth.get(signum, 0) + 1
    if _depth[signum] == 1 and _install(signum):
        _installed.add(signum)


def _leave(signum: int) -> None:
    _depth[signum] = max(0, _depth.get(signum, 0) - 1)
    if _depth[signum] == 0 and signum in _installed:
        _installed.discard(signum)
        _uninstall(signum)


def block_entered() -> None:
    """A remote-browser block starts: make SIGTERM unwind it, if nobody else handles SIGTERM."""
    if not _in_main_thread():
        return  # only the main thread may set handlers, and only it receives the exception
    with _lock:
        _enter(signal.SIGTERM)


def block_left() -> None:
    """A remote-browser block ended: put back the default once the last one is done."""
    if not _in_main_thread():
        return
    with _lock:
        _leave(signal.SIGTERM)


def _hangup() -> list[signal.Signals]:
    return [signal.SIGHUP] if hasattr(signal, "SIGHUP") else []  # no SIGHUP on Windows


@contextlib.contextmanager
def sigterm_interrupts(*, hangup: bool = False) -> Iterator[None]:
    """Inside the block, SIGTERM ends the wait like Ctrl-C: it raises ``Terminated`` (a
    ``KeyboardInterrupt`` too) in the main thread, so the block's cleanup runs.

    ``hangup=True`` does the same for SIGHUP (the terminal closed). As with remote-browser
    blocks: only where the program has no handler of its own, in the main thread (elsewhere it
    does nothing), nested blocks share one handler, and the default returns after the last.
    """
    signals = [signal.SIGTERM, *(_hangup() if hangup else [])]
    if not _in_main_thread():
        yield
        return
    with _lock:
        for signum in signals:
            _enter(signum)
    try:
        yield
    finally:
        with _lock:
            for signum in reversed(signals):
                _leave(signum)


@contextlib.contextmanager
def signals_ignored() -> Iterator[None]:
    """Inside the block, Ctrl-C, SIGTERM and SIGHUP are ignored (main thread only): for a
    cleanup a second, impatient signal must not cut short, such as stopping a browser."""
    if not _in_main_thread():
        yield
        return
    signals = [signal.SIGINT, signal.SIGTERM, *_hangup()]
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in signals}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            if handler is not None:  # None: set from C, not Python; it cannot be put back
                signal.signal(signum, handler)


def unwind_on_sigterm() -> Callable[[], None] | None:
    """Make SIGTERM unwind the main thread for a whole run (a test session), not one block.

    Installed only over the default action, as ``block_entered`` does. Returns the undo, which
    puts the default back unless somebody replaced the handler meanwhile; ``None`` if nothing
    was installed. Blocks inside the run then leave the handler alone (it is not the default).
    """
    if not _in_main_thread() or not _install(signal.SIGTERM):
        return None
    return functools.partial(_uninstall, signal.SIGTERM)


def unwinds_on_sigterm() -> bool:
    """Whether SIGTERM now raises ``Terminated`` through bu-cdp's handler."""
    return signal.getsignal(signal.SIGTERM) is _on_sigterm


# -- interpreter exit ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Owned:
    base_url: str
    api_key: str | None = field(repr=False)
    browser_id: str
    dialect: str = "seed"  # how to say the stop there
    kept: bool = False  # kept alive on the embedded server: it lives as long as this process


_owned: dict[tuple[str, str], _Owned] = {}
_sweep_registered = False


def track(base_url: str, api_key: str | None, browser_id: str, dialect: str = "seed") -> None:
    """This process is responsible for stopping this browser until ``untrack``."""
    global _sweep_registered
    with _lock:
        _owned[(base_url, browser_id)] = _Owned(base_url, api_key, browser_id, dialect)
        if not _sweep_registered:
            # Registered after the embedded server's own hook, so it runs first (LIFO).
            atexit.register(sweep)
            _sweep_registered = True


def untrack(base_url: str, browser_id: str) -> None:
    with _lock:
        _owned.pop((base_url, browser_id), None)


def sweep() -> None:
    """Stop every browser this process created and did not stop. Runs at interpreter exit."""
    from bu_cdp.client import BrowserUse

    with _lock:
        left = list(_owned.values())
        _owned.clear()
    for item in left:
        if item.kept:
            log.info(
                "stopping browser %s (keep_alive=True): its embedded server ends with this process",
                item.browser_id,
            )
        else:
            log.warning("stopping browser %s, left running at interpreter exit", item.browser_id)
        try:
            with BrowserUse(
                base_url=item.base_url,
                api_key=item.api_key,
                dialect=item.dialect,
                timeout=10,
                max_retries=1,
            ) as client:
                client.browsers.stop(item.browser_id)
        except Exception as exc:
            log.error("could not stop browser %s at exit: %s", item.browser_id, exc)
            continue
        ledger.record_stopped(item.browser_id, item.base_url)


# -- a created browser's bookkeeping, the same for every creator (RemoteBrowser, bu-cdp open) --


def created(target: Target, browser_id: str) -> None:
    """Stopped at interpreter exit until it is stopped or kept, and written to the ledger, so
    `bu-cdp browsers stop --leaked` finds it if this process is killed."""
    track(target.base_url, target.api_key, browser_id, target.dialect)
    ledger.record_created(
        browser_id, target.base_url, embedded=target.embedded, dialect=target.dialect
    )


def stopped(base_url: str, browser_id: str) -> None:
    untrack(base_url, browser_id)
    ledger.record_stopped(browser_id, base_url)


def kept(target: Target, browser_id: str) -> None:
    """Left running on purpose (keep_alive): not stopped at exit, and not a leak. Except on
    the embedded server, which ends with this process: there it is stopped at exit, through
    the normal stop, and the ledger says so then (never ``kept`` for a browser that is gone)."""
    if target.embedded:
        with _lock:
            _owned[(target.base_url, browser_id)] = _Owned(
                target.base_url, target.api_key, browser_id, target.dialect, kept=True
            )
        return
    untrack(target.base_url, browser_id)
    ledger.record_kept(browser_id, target.base_url)
