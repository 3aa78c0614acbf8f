"""example.com for examples that name it, with no internet: a Chromium that finds it here.

``chromium_reaching_example_com(folder, port)`` writes a wrapper around the real Chromium (for
``BU_CDP_CHROMIUM``) that adds a host-resolver rule sending example.com and app.example to
127.0.0.1:``port`` and accepts the local server's self-signed certificate. Only the runs given
the wrapper see it: the docs and recipes keep their real URLs, unchanged.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from bu_cdp.server.chromium.launch import find_chromium
from tests.support.pages import _Handler
from tests.support.tls import TlsPageServer

EXAMPLE_HOSTS = ("example.com", "app.example")
TITLE = "Example Domain"


class _ExampleHandler(_Handler):
    def do_GET(self) -> None:  # every path is example.com's one page
        self._send(200, f"<!doctype html><title>{TITLE}</title><h1>{TITLE}</h1><a href='/'>x</a>")


class ExampleCom(TlsPageServer):
    """https://example.com's page at every path, over TLS with a self-signed certificate."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.RequestHandlerClass = _ExampleHandler


def chromium_reaching_example_com(folder: Path, port: int) -> Path:
    wrapper = folder / "chromium"
    rules = ",".join(f"MAP {host} 127.0.0.1:{port}" for host in EXAMPLE_HOSTS)
    wrapper.write_text(
        "#!/bin/sh\n"
        f"exec {shlex.quote(find_chromium())} --host-resolver-rules={shlex.quote(rules)} "
        '--ignore-certificate-errors "$@"\n'
    )
    wrapper.chmod(0o755)
    return wrapper
