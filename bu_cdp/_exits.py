"""Every way out of a process stops the browsers it made.

- SIGTERM: while a remote-browser block runs in the main thread, and only if the program has no
  SIGTERM handler of its own (the handler is ``SIG_DFL``), SIGTERM raises ``Terminated`` (a
  ``SystemExit`` and a ``KeyboardInterrupt``) in the main thread, so with-blocks unwind and
  stop their browsers as on Ctrl-C. The default comes back when the last block ends. A
  program's own handler is never replaced.
- Interpreter exit: what this process created and did not stop (a stop that failed, a block
  entered and never left, a thread that died) is swept by an ``atexit`` hook.
- SIGKILL and crashes leave nothing to run: the ledger (``bu_cdp.ledger``) and the
  server-side timeout cover those.
"""

from __future__ import annotations

import atexit
import logging
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType

log = logging.getLogger("bu_cdp")


class Terminated(SystemExit, KeyboardInterrupt):
    """SIGTERM arrived inside a remote-browser block.

    A ``SystemExit`` (uncaught, the program ends quietly with status 128 + the signal) that is
    also a ``KeyboardInterrupt``, so what treats Ctrl-C as "stop everything" — pytest ending
    its run rather than failing one test and going on, a CLI's interrupt path — does the same.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum


# -- SIGTERM -------------------------------------------------------------------------------

_lock = threading.Lock()
_depth = 0  # remote-browser blocks open in the main thread
_installed = False


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


def block_entered() -> None:
    """A remote-browser block starts: make SIGTERM unwind it, if nobody else handles SIGTERM."""
    global _depth, _installed
    if not _in_main_thread():
        return  # only the main thread may set handlers, and only it receives the exception
    with _lock:
        _depth += 1
        if _depth == 1 and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            try:
                signal.signal(signal.SIGTERM, _on_sigterm)
            except ValueError:  # not the main interpreter
                return
            _installed = True


def block_left() -> None:
    """A remote-browser block ended: put back the default once the last one is done."""
    global _depth, _installed
    if not _in_main_thread():
        return
    with _lock:
        _depth = max(0, _depth - 1)
        if _depth == 0 and _installed:
            _installed = False
            # If the program set its own handler meanwhile, it stays.
            if signal.getsignal(signal.SIGTERM) is _on_sigterm:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)


def unwind_on_sigterm() -> Callable[[], None] | None:
    """Make SIGTERM unwind the main thread for a whole run (a test session), not one block.

    Installed only over the default action, as ``block_entered`` does. Returns the undo, which
    puts the default back unless somebody replaced the handler meanwhile; ``None`` if nothing
    was installed. Blocks inside the run then leave the handler alone (it is not the default).
    """
    if not _in_main_thread() or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return None
    try:
        signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main interpreter
        return None

    def undo() -> None:
        if signal.getsignal(signal.SIGTERM) is _on_sigterm:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)

    return undo


def unwinds_on_sigterm() -> bool:
    """Whether SIGTERM now raises ``Terminated`` through bu-cdp's handler."""
    return signal.getsignal(signal.SIGTERM) is _on_sigterm


# -- interpreter exit ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Owned:
    base_url: str
    api_key: str | None = field(repr=False)
    browser_id: str


_owned: dict[tuple[str, str], _Owned] = {}
_sweep_registered = False


def track(base_url: str, api_key: str | None, browser_id: str) -> None:
    """This process is responsible for stopping this browser until ``untrack``."""
    global _sweep_registered
    with _lock:
        _owned[(base_url, browser_id)] = _Owned(base_url, api_key, browser_id)
        if not _sweep_registered:
            # Registered after the embedded server's own hook, so it runs first (LIFO).
            atexit.register(sweep)
            _sweep_registered = True


def untrack(base_url: str, browser_id: str) -> None:
    with _lock:
        _owned.pop((base_url, browser_id), None)


def owned() -> list[tuple[str, str]]:
    """(base_url, browser id) of what this process still has to stop."""
    with _lock:
        return list(_owned)


def sweep() -> None:
    """Stop every browser this process created and did not stop. Runs at interpreter exit."""
    from bu_cdp import ledger
    from bu_cdp.client import BrowserUse

    with _lock:
        left = list(_owned.values())
        _owned.clear()
    for item in left:
        log.warning("stopping browser %s, left running at interpreter exit", item.browser_id)
        try:
            with BrowserUse(
                base_url=item.base_url, api_key=item.api_key, timeout=10, max_retries=1
            ) as client:
                client.browsers.stop(item.browser_id)
        except Exception as exc:
            log.error("could not stop browser %s at exit: %s", item.browser_id, exc)
            continue
        ledger.record("stopped", item.browser_id, item.base_url)
