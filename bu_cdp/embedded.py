"""The embedded default: a local server started in this process, shared, stopped at exit.

Used when no API key and no base URL are configured, so everything works offline. It listens
on 127.0.0.1 on a free port with a random key, in a daemon thread; at interpreter exit it
stops every browser it launched.
"""

from __future__ import annotations

import atexit
import secrets
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bu_cdp.server.thread import ServerThread

_lock = threading.Lock()
_current: ServerThread | None = None


def embedded_server() -> ServerThread:
    """The process's embedded server, started on first use."""
    global _current
    with _lock:
        if _current is None or not _current.running:
            from bu_cdp.server.config import ServerConfig
            from bu_cdp.server.proxy import proxies_from_env
            from bu_cdp.server.thread import ServerThread

            config = ServerConfig(
                api_key=secrets.token_urlsafe(24),
                host="127.0.0.1",
                port=0,
                proxies=proxies_from_env(),  # BU_CDP_PROXIES, as for `bu-cdp serve`
            )
            _current = ServerThread(config).start()
            atexit.register(_current.stop)
        return _current
