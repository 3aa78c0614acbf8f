"""What a relayed CDP client may not do as it would on Chromium's own socket.

- ``Browser.close`` (Puppeteer's ``browser.close()``) would make Chromium exit, which the
  server could only take for a crash. It is answered here and the browser stopped through
  the manager, ending as ``stopped`` with a reason that says who closed it.
- ``Browser.setDownloadBehavior`` / ``Page.setDownloadBehavior`` name a folder Chromium then
  writes to, with the server's rights. A folder outside the browser's own work folder is
  replaced by ``<work folder>/downloads``: confined rather than refused, because Playwright's
  ``connect_over_cdp`` names its own temporary folder (on the client's machine) at every
  connect, and a refusal would fail the connect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path
from typing import Any

import orjson

from bu_cdp.models import BrowserStatus
from bu_cdp.server.browsers.manager import BrowserManager
from bu_cdp.server.browsers.record import ManagedBrowser
from bu_cdp.server.chromium.pipe import CdpError, PipeSession

log = logging.getLogger("bu_cdp.server")

CLOSED_BY_CLIENT = "closed by its CDP client (Browser.close)"
DOWNLOADS = "downloads"  # the folder, in a browser's work folder, that downloads are kept to
_DOWNLOAD_METHODS = frozenset({"Browser.setDownloadBehavior", "Page.setDownloadBehavior"})
_PARSE_ERROR = -32700  # JSON-RPC's, as Chromium answers a message it cannot read


class ClientRules:
    """One relayed client's messages on their way to its pipe session."""

    def __init__(
        self, manager: BrowserManager, browser: ManagedBrowser, session: PipeSession
    ) -> None:
        self._manager = manager
        self._browser = browser
        self._session = session
        self._stopping: asyncio.Task[Any] | None = None  # held: the loop keeps weak refs

    def handle(self, data: str | bytes) -> None:
        try:
            message = orjson.loads(data)
        except orjson.JSONDecodeError:
            message = None
        if not isinstance(message, dict):
            error = {"code": _PARSE_ERROR, "message": "Message must be a JSON object"}
            self._session.reply({"id": None, "error": error})
            return
        method = message.get("method")
        if method == "Browser.close":
            self._close_browser(message.get("id"))
            return
        if method in _DOWNLOAD_METHODS:
            self._confine_downloads(message)
        with contextlib.suppress(CdpError):  # the browser has ended: the socket is closing
            self._session.send(message)

    def _close_browser(self, message_id: Any) -> None:
        self._session.reply({"id": message_id, "result": {}})
        if self._stopping is None:
            log.info("browser %s: Browser.close from a CDP client", self._browser.id)
            self._stopping = asyncio.get_running_loop().create_task(
                self._manager.stop(self._browser.id, BrowserStatus.STOPPED, CLOSED_BY_CLIENT)
            )

    def _confine_downloads(self, message: dict[str, Any]) -> None:
        params = message.get("params")
        if not isinstance(params, dict) or "downloadPath" not in params:
            return
        wanted = params["downloadPath"]
        if isinstance(wanted, str) and _inside(wanted, self._browser.workdir):
            return
        folder = self._browser.workdir / DOWNLOADS
        folder.mkdir(mode=0o700, exist_ok=True)
        owner = self._browser.workdir.stat()  # the browser's own uid when it runs as one
        if (owner.st_uid, owner.st_gid) != (os.geteuid(), os.getegid()):
            os.chown(folder, owner.st_uid, owner.st_gid)
        params["downloadPath"] = str(folder)


def _inside(path: str, folder: Path) -> bool:
    """Is ``path`` (absolute, links resolved) in ``folder``?"""
    if not os.path.isabs(path):
        return False
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(folder))
