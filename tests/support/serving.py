"""``bu-cdp serve`` in a process of its own, as a user runs it, on a port it picks."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.waiting import wait_until

LOG_NAME = "serve.log"


@dataclass
class ServedProcess:
    process: subprocess.Popen[bytes]
    url: str  # the server's root: /health, /cdp, /live; the API is under api_url
    api_key: str = field(repr=False)

    @property
    def api_url(self) -> str:
        return self.url + "/api/v3"

    @property
    def api(self) -> dict[str, str]:
        """Keyword arguments that point a client or remote_browser() at this server."""
        return {"base_url": self.api_url, "api_key": self.api_key}

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Browser-Use-API-Key": self.api_key}

    def metrics(self) -> dict[str, Any]:
        answer = httpx.get(self.api_url + "/metrics", headers=self.headers, timeout=30)
        answer.raise_for_status()
        metrics: dict[str, Any] = answer.json()
        return metrics


def _log_tail(log: Path) -> str:
    try:
        return log.read_text(errors="replace")[-2000:]
    except OSError:
        return ""


SERVING = re.compile(rb"serving the v3 API at (http://\S+)/api/v3")


@contextlib.contextmanager
def serve_process(
    *flags: str, tmpdir: Path, env: Mapping[str, str] | None = None, seconds: float = 60
) -> Iterator[ServedProcess]:
    """``bu-cdp serve --port 0 *flags``, answering /health, stopped on leaving.

    The port is the one the server says it bound (no race for a "free" port). ``tmpdir`` is
    its TMPDIR: its browsers' work folders go there (keep it short, Chromium puts a unix
    socket in it), and its log, ``serve.log``. ``env`` adds to the environment
    (``BU_CDP_HOME``, say). On leaving, a server still running gets SIGTERM and the time to
    stop its browsers; one that will not stop is killed.
    """
    key = secrets.token_urlsafe(16)
    # One argument: a key that starts with "-" (one in 64) is not taken for an option.
    command = [sys.executable, "-m", "bu_cdp.cli", "serve", "--port", "0", f"--api-key={key}"]
    log_path = tmpdir / LOG_NAME
    start = log_path.stat().st_size if log_path.exists() else 0  # the log may be shared
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [*command, *flags],
            env={**os.environ, **(env or {}), "TMPDIR": str(tmpdir)},
            stdout=log,  # uvicorn's access log goes to stdout
            stderr=log,
        )
    served = ServedProcess(process, "", key)

    def healthy() -> bool:
        if process.poll() is not None:
            raise AssertionError(
                f"bu-cdp serve exited with {process.returncode}: {_log_tail(log_path)}"
            )
        if not served.url:
            said = SERVING.search(log_path.read_bytes()[start:])
            if said is None:
                return False
            served.url = said.group(1).decode()
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(served.url + "/health", timeout=1).status_code == 200
        return False

    try:
        wait_until(healthy, seconds, "bu-cdp serve to answer /health")
        yield served
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(30)
