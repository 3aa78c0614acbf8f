"""The embedded server's own process: ``python -m bu_cdp.embedded.child``, started by
``bu_cdp.embedded.process`` and never by hand.

It serves what ``bu-cdp serve`` serves (uvloop where installed), on the socket its parent bound
and passed down, with the key its parent put in the environment (never in argv, which every
local user can read). It ends, stopping every browser through the normal ending (profiles
saved, folders removed), when its parent closes its stdin, or dies: the pipe's end comes
whatever killed the parent, and Linux's parent-death signal covers a parent whose pipe a forked
child still holds open.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from bu_cdp.embedded import logs, sizing

if TYPE_CHECKING:
    import uvicorn

PARENT_ENV = "BU_CDP_EMBEDDED_PARENT"  # the parent's pid
SOCKET_ENV = "BU_CDP_EMBEDDED_FD"  # the listening socket's descriptor
KEY_ENV = "BU_CDP_EMBEDDED_KEY"  # the API key; removed from the environment at once
LOG_LEVEL_ENV = "BU_CDP_EMBEDDED_LOG_LEVEL"

_PR_SET_PDEATHSIG = 1
log = logging.getLogger(logs.SERVER_LOGGER)


def _die_with_parent(parent: int) -> None:
    """SIGTERM (a graceful stop) when the parent dies; at once if it already has."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # died before the line above could take effect
        raise SystemExit(0)


def _stop_when_stdin_ends(server: uvicorn.Server, loop: asyncio.AbstractEventLoop) -> None:
    with contextlib.suppress(OSError):
        while sys.stdin.buffer.read(4096):
            pass
    if server.started:
        with contextlib.suppress(RuntimeError):  # the loop has ended already (a SIGTERM)
            asyncio.run_coroutine_threadsafe(_end_now(server), loop)
    else:
        server.should_exit = True  # uvicorn's own ending, once its start is done


async def _end_now(server: uvicorn.Server) -> None:
    """The parent is done with this server, and its program's exit waits for this process:
    stop taking connections, end the app (every browser stopped the normal way, profiles
    saved, the store closed), and exit. uvicorn's own ending would add a tick, a fixed 0.1 s
    for connections nobody uses any more and the interpreter's teardown: a quarter of a
    second of the user's exit (BENCHMARKS.md). A SIGTERM still takes uvicorn's way."""
    code = 1
    try:
        for listening in server.servers:
            listening.close()
        await server.lifespan.shutdown()
        code = 0
    finally:
        logging.shutdown()  # every log line out first
        os._exit(code)


def main() -> int:
    _die_with_parent(int(os.environ.pop(PARENT_ENV)))
    os.dup2(2, 1)  # anything printed goes where the log lines go, not to a pipe nobody reads
    level = int(os.environ.pop(LOG_LEVEL_ENV, logging.INFO))
    logs.send_records(level, sys.stderr)
    api_key = os.environ.pop(KEY_ENV)  # Chromium inherits this environment: not the key
    sock = socket.socket(fileno=int(os.environ.pop(SOCKET_ENV)))
    # One loop for the whole run: a Chromium started on it before the server's imports
    # (``head_start``) boots during them, and the server's pool then takes it.
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        warm = _warm_browsers()
        if warm:
            from bu_cdp.server.browsers import head_start

            runner.run(head_start.begin())
        try:
            server = _server(
                api_key, sock, warm, sizing.warm_launches(os.environ, sizing.available_cpus())
            )
        except Exception as exc:
            log.error("could not start: %s", exc)
            if warm:
                runner.run(head_start.discard())
            return 1
        watcher = threading.Thread(
            target=_stop_when_stdin_ends, args=(server, runner.get_loop()), daemon=True
        )
        watcher.start()
        runner.run(server.serve(sockets=[sock]))
    return 0


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    """uvloop where installed, as uvicorn's ``loop="auto"`` would choose."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop
    return uvloop.new_event_loop


def _warm_browsers() -> int:
    from bu_cdp.server.config import default_max_browsers

    return sizing.warm_browsers(os.environ, default_max_browsers())


def _server(
    api_key: str, sock: socket.socket, warm: int, warm_launches: int | None
) -> uvicorn.Server:
    import uvicorn

    from bu_cdp.server.config import ServerConfig
    from bu_cdp.server.proxies.selection import proxies_from_env
    from bu_cdp.server.serve import uvicorn_config

    config = ServerConfig(
        api_key=api_key,
        host="127.0.0.1",
        port=sock.getsockname()[1],
        proxies=proxies_from_env(),  # BU_CDP_PROXIES, as for `bu-cdp serve`
        warm=warm,
        warm_launches=warm_launches,
    )
    # uvicorn's own loggers: warnings only, no line per request, through our handler.
    return uvicorn.Server(
        uvicorn_config(config, log_level="warning", access_log=False, log_config=None)
    )


if __name__ == "__main__":
    sys.exit(main())
