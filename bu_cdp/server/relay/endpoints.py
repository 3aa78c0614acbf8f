"""CDP through the server's own port: each browser's addresses behind its own token.

Chromium has no DevTools port: its one DevTools connection is a pipe only this server holds
(``chromium.pipe``). A client connects to ``/cdp/{browser_id}/{token}``, which ``cdp_socket``
serves on the socket itself (a wrong token, or a browser that is not active, is refused
before anything reaches Chromium). Here: the browser's address, and the DevTools HTTP form
``/json/version`` that some clients read first.
"""

from __future__ import annotations

import logging
import re

from fastapi import APIRouter, Request
from starlette.requests import HTTPConnection

from bu_cdp.server.browsers.manager import BrowserManager
from bu_cdp.server.browsers.record import ManagedBrowser
from bu_cdp.server.chromium.pipe import CdpError
from bu_cdp.server.shared.addresses import websocket_base
from bu_cdp.server.shared.problems import ApiProblem

log = logging.getLogger("bu_cdp.server")
router = APIRouter()

# Websocket close code for a refusal before the accept: the client sees 403 (live views).
POLICY_VIOLATION = 1008


def cdp_path(browser: ManagedBrowser) -> str:
    return f"/cdp/{browser.id}/{browser.token}"


def cdp_url(connection: HTTPConnection, browser: ManagedBrowser) -> str:
    """The browser's ``cdp_url``, as clients of this request reach the server."""
    return websocket_base(connection) + cdp_path(browser)


_WEBKIT = re.compile(r"AppleWebKit/([\d.]+)")


@router.get("/cdp/{browser_id}/{token}/json/version")
@router.get("/cdp/{browser_id}/{token}/json/version/", include_in_schema=False)
async def json_version(request: Request, browser_id: str, token: str) -> dict[str, object]:
    """The DevTools HTTP form, so ``connect_over_cdp("http://...")`` works too.

    Chromium serves no HTTP here (it has no port): the same fields are made from its
    ``Browser.getVersion``.
    """
    manager: BrowserManager = request.app.state.manager
    browser = manager.authorize(browser_id, token)
    if browser is None or browser.process is None:
        raise ApiProblem(403, "Not a valid CDP address for an active browser")
    try:
        version = await browser.process.pipe.call("Browser.getVersion", timeout=10)
    except (CdpError, TimeoutError) as exc:  # it ended, or is ending, since the check
        log.warning("relay for browser %s could not reach Chromium: %s", browser.id, exc)
        raise ApiProblem(502, "Chromium could not be reached: the browser may have ended") from exc
    webkit = _WEBKIT.search(version.get("userAgent", ""))
    return {
        "Browser": version.get("product"),
        "Protocol-Version": version.get("protocolVersion"),
        "User-Agent": version.get("userAgent"),
        "V8-Version": version.get("jsVersion"),
        "WebKit-Version": f"{webkit[1] if webkit else ''} ({version.get('revision', '')})",
        "webSocketDebuggerUrl": cdp_url(request, browser),
    }
