"""The live view (page and websocket) and the recordings, each behind a secret in its path.

Not under the API key: ``live_url`` and ``recording_url`` are meant to be opened in a plain
browser. A wrong token answers exactly like an unknown browser (404, no content).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import FileResponse, HTMLResponse

from bu_cdp.server.browsers.manager import BrowserManager
from bu_cdp.server.browsers.record import ManagedBrowser
from bu_cdp.server.recording.videos import VIDEO_MEDIA_TYPE, VIDEO_SUFFIX, RecordingStore
from bu_cdp.server.relay.endpoints import POLICY_VIOLATION
from bu_cdp.server.screen.live_view import live_page, watch
from bu_cdp.server.screen.screencast import ScreencastHub
from bu_cdp.server.shared.addresses import public_base
from bu_cdp.server.shared.auth import token_matches
from bu_cdp.server.shared.problems import ApiProblem

router = APIRouter(include_in_schema=False)

# The token is in the address: keep it out of Referer headers and caches.
PRIVATE_HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "private, no-store"}


def recording_url_for(request: Request, browser_id: str) -> str | None:
    """The absolute ``recording_url`` of a browser's finished recording, or None.

    For ``POST /sessions/{id}/recording``: a session recorded through its browser answers
    with this, and 404 when it is None (no recording asked for, or not finished yet).
    """
    store: RecordingStore = request.app.state.recordings
    path = store.url_path(browser_id)
    return public_base(request) + path if path else None


def _browser(manager: BrowserManager, browser_id: str, token: str) -> ManagedBrowser | None:
    try:
        browser = manager.get(browser_id)
    except ApiProblem:
        return None
    return browser if token_matches(token, browser.token) else None


@router.get("/live/{browser_id}/{token}")
async def live_view(request: Request, browser_id: str, token: str) -> HTMLResponse:
    if _browser(request.app.state.manager, browser_id, token) is None:
        raise ApiProblem(404, "No live view at this address")
    return HTMLResponse(live_page(), headers=PRIVATE_HEADERS)


@router.websocket("/live/{browser_id}/{token}/ws")
async def live_socket(websocket: WebSocket, browser_id: str, token: str) -> None:
    browser = _browser(websocket.app.state.manager, browser_id, token)
    if browser is None:
        await websocket.close(code=POLICY_VIOLATION)  # before accept: the client sees 403
        return
    await websocket.accept()
    if not browser.active or browser.process is None:  # the page says so, then it is over
        await websocket.send_json({"type": "status", "status": browser.status.value})
        await websocket.close()
        return
    hub: ScreencastHub = websocket.app.state.screencasts
    await watch(websocket, browser, hub)


@router.get("/recordings/{browser_id}/{file_name}")
def recording_file(request: Request, browser_id: str, file_name: str) -> FileResponse:
    store: RecordingStore = request.app.state.recordings
    token = file_name.removesuffix(VIDEO_SUFFIX)
    path = store.open(browser_id, token) if file_name.endswith(VIDEO_SUFFIX) else None
    if path is None:
        raise ApiProblem(404, "No recording at this address")
    return FileResponse(path, media_type=VIDEO_MEDIA_TYPE, headers=PRIVATE_HEADERS)
