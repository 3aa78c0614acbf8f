"""The embedded default: a local server in a child process of this one, shared, ended with it.

Used when no API key and no base URL are configured, so everything works offline. It listens
on 127.0.0.1 on a free port with a random key, in a process of its own (so its CDP relay never
waits for this program's GIL), started on first use. At interpreter exit it stops every browser
it launched through the normal ending (profiles saved, work folders removed); if this process
dies in any other way, SIGKILL included, the child notices and does the same.
"""

from __future__ import annotations

import atexit
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bu_cdp.embedded.process import EmbeddedServer
    from bu_cdp.settings import Target

_lock = threading.Lock()
_current: EmbeddedServer | None = None
_one_browser = False


def expect_one_browser() -> None:
    """Say, before the embedded server starts, that this program reuses one browser for its
    whole run (the pytest plugin's ``--bu-scope session`` and ``--bu-remote`` say so): the
    server starts that browser's Chromium ahead, as it boots, and launches no other to keep
    ready, which would only take CPU from the tests. ``BU_CDP_WARM`` still wins."""
    global _one_browser
    _one_browser = True


def embedded_server() -> EmbeddedServer:
    """The process's embedded server, started on first use (without waiting for it to serve:
    requests wait in its socket's backlog meanwhile)."""
    global _current
    with _lock:
        if _current is None or not _current.running:
            from bu_cdp.embedded.process import EmbeddedServer

            _current = EmbeddedServer(one_browser=_one_browser).start()
            atexit.register(_at_exit, _current)
        return _current


def _at_exit(server: EmbeddedServer) -> None:
    # The browsers this process still holds are stopped first, through the API, whatever
    # order the exit hooks were registered in: the normal stop is what saves a profile.
    from bu_cdp import _exits

    _exits.sweep()
    server.stop()


def embedded_target() -> Target:
    """Where the embedded server answers, and its key."""
    from bu_cdp.settings import Target

    server = embedded_server()
    return Target(server.base_url, server.api_key, embedded=True)


def stop_embedded_server() -> None:
    """Stop the embedded server now, if one runs (as at exit: every browser ended properly).
    The next use starts a new one."""
    with _lock:
        server = _current
    if server is not None:
        server.stop()
        atexit.unregister(_at_exit)
