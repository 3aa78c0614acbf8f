"""The embedded server as seen from the user's process: a child process, its socket, its end.

The socket is bound here, so the address is known at once and the child boots while the
program goes on (Playwright starts meanwhile): a request sent before the child serves waits in
the socket's backlog, not on an error. The child is spawned by the thread that then reads its
log lines for as long as it runs, so Linux's parent-death signal (which follows the spawning
*thread*) fires only when this process ends, whichever thread first asked for the server.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Self

from bu_cdp.embedded import child, logs, sizing
from bu_cdp.errors import ConfigurationError

log = logging.getLogger("bu_cdp")

STOP_TIMEOUT = 60.0  # seconds for the child to stop its browsers (profiles saved) and end


def _check_environment() -> None:
    """What the child reads from the environment, checked here: a mistake is this call's
    ``ConfigurationError``, naming the variable, not a child that ends at its start (the
    proxy map only when it is set: checking it imports the server)."""
    from bu_cdp.server.chromium import isolation
    from bu_cdp.server.config import default_max_browsers

    sizing.warm_browsers(os.environ, default_max_browsers())
    isolation.wanted()
    if os.environ.get("BU_CDP_PROXIES"):
        from bu_cdp.server.proxies.selection import country_upstreams, proxies_from_env

        try:
            country_upstreams(proxies_from_env())
        except ConfigurationError as exc:
            raise ConfigurationError(f"BU_CDP_PROXIES: {exc}") from None


class EmbeddedServer:
    """``start()`` it once; ``stop()`` ends it and every browser it launched, gracefully."""

    def __init__(self, *, one_browser: bool = False) -> None:
        _check_environment()
        self.one_browser = one_browser  # the program reuses one browser (``expect_one_browser``)
        self.api_key = secrets.token_urlsafe(24)
        self._sock = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.base_url = f"http://127.0.0.1:{self._sock.getsockname()[1]}/api/v3"
        self.process: subprocess.Popen[bytes] | None = None
        self._spawned = threading.Event()
        self._failure: BaseException | None = None
        self._stopping = False
        self._reader = threading.Thread(target=self._run, name="bu-cdp-embedded", daemon=True)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None and not self._stopping

    def start(self) -> Self:
        self._reader.start()
        self._spawned.wait()
        self._sock.close()  # the child's copy serves; a child that dies refuses, never hangs
        if self._failure is not None:
            raise ConfigurationError(
                f"could not start the embedded bu-cdp server: {self._failure}"
            ) from self._failure
        return self

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Return once the child answers ``/health``; ``ConfigurationError`` if it ended or
        did not answer within ``timeout`` seconds. (Nothing needs this to send requests.)"""
        import httpx

        health = self.base_url.rsplit("/api/", 1)[0] + "/health"
        deadline = time.monotonic() + timeout
        while not self._stopping and self.process is not None and self.process.poll() is None:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(health, timeout=max(0.1, deadline - time.monotonic())).is_success:
                    return
            if time.monotonic() > deadline:
                break
            time.sleep(0.02)
        raise ConfigurationError(f"the embedded bu-cdp server did not start within {timeout:g}s")

    def _environment(self) -> dict[str, str]:
        package_root = str(Path(__file__).resolve().parents[2])  # above bu_cdp/embedded/
        path = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
        return {
            **os.environ,
            "PYTHONPATH": path,  # the same bu_cdp, however this program found it
            child.PARENT_ENV: str(os.getpid()),
            child.SOCKET_ENV: str(self._sock.fileno()),
            child.KEY_ENV: self.api_key,
            child.LOG_LEVEL_ENV: str(min(logging.INFO, log.getEffectiveLevel())),
            **({sizing.ONE_BROWSER_ENV: "1"} if self.one_browser else {}),
        }

    def _run(self) -> None:
        try:
            self.process = process = subprocess.Popen(
                [sys.executable, "-m", "bu_cdp.embedded.child"],
                stdin=subprocess.PIPE,  # its end tells the child this process is gone
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,  # log lines, read below until the child ends
                pass_fds=(self._sock.fileno(),),
                env=self._environment(),
                start_new_session=True,  # Ctrl-C is for this program, which then stops it
            )
        except BaseException as exc:
            self._failure = exc
            return
        finally:
            self._spawned.set()  # after self.process is set: start() reads it
        assert process.stderr is not None
        logs.forward(process.stderr, f"embedded server (pid {process.pid}): ")
        code = process.wait()
        if not self._stopping:
            log.error("the embedded bu-cdp server (pid %d) ended with code %s", process.pid, code)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """End the child: it stops every browser through the normal ending, then exits."""
        self._stopping = True
        process = self.process
        if process is None:
            return
        with contextlib.suppress(OSError):
            assert process.stdin is not None
            process.stdin.close()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning(
                "the embedded bu-cdp server (pid %d) did not stop within %gs: killed",
                process.pid,
                timeout,
            )
            process.kill()
            process.wait()
        self._reader.join(5)  # its last log lines
