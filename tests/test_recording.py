"""Recordings: a browser created with enable_recording leaves a video a browser can play."""

from __future__ import annotations

import hashlib
import io
import os
import signal
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import av
import httpx
import pytest
import websockets.sync.client
from playwright.sync_api import sync_playwright

from bu_cdp import errors
from bu_cdp.models import Browser, SessionStatus
from bu_cdp.server.recording.videos import RecordingStore
from bu_cdp.server.sessions.manager import SessionManager
from bu_cdp.server.thread import ServerThread
from tests.support.local_api import client_for, create_browser
from tests.support.pages import PageServer
from tests.support.processes import children_of
from tests.support.waiting import wait_until


def _encoders() -> list[int]:
    """Encoder processes of this test process that are still running."""
    return [p.pid for p in children_of(os.getpid(), "bu_cdp.server.recording.encoding_child")]


def _lifetime(browser: Browser) -> float:
    extra = browser.model_extra or {}
    created = datetime.fromisoformat(extra["created_at"])
    stopped = datetime.fromisoformat(extra["stopped_at"])
    return (stopped - created).total_seconds()


def test_recorded_browser_leaves_a_video_as_long_as_its_life(
    make_server: Callable[..., ServerThread], pages: PageServer, tmp_path: Path
) -> None:
    folder = tmp_path / "recordings"
    server = make_server(recordings_dir=folder)
    with client_for(server) as client:
        browser = client.browsers.create(enable_recording=True, timeout=5)
        assert browser.recording_url is None  # not before the stop
        with sync_playwright() as pw:
            cdp = pw.chromium.connect_over_cdp(browser.cdp_url or "")
            page = cdp.contexts[0].pages[0]
            page.goto(pages.url + "/")
            # Someone watches for a moment: the recording shares the screencast and goes on.
            with websockets.sync.client.connect("ws" + (browser.live_url or "")[4:] + "/ws") as ws:
                while not isinstance(ws.recv(timeout=10), bytes):
                    pass
            time.sleep(0.8)
            assert server.app.state.screencasts.running(browser.id)
            page.goto(pages.url + "/about")
            time.sleep(0.8)
            page.set_content("<body style='background:#c33'><h1>The end</h1>")
            cdp.close()
        time.sleep(1.5)  # nothing moves now: the video must still cover this time
        assert len(_encoders()) == 1
        client.browsers.stop(browser.id or "")
        stopped = client.browsers.get(browser.id or "")
    assert _encoders() == []
    assert stopped.recording_url is not None
    assert stopped.recording_url.startswith(
        server.base_url.removesuffix("/api/v3") + "/recordings/"
    )

    answer = httpx.get(stopped.recording_url)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "video/webm"
    with av.open(io.BytesIO(answer.content)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "vp8"
        duration = (container.duration or 0) / av.time_base
        pictures = [hashlib.sha1(bytes(f.planes[0])).digest() for f in container.decode(stream)]

    lifetime = _lifetime(stopped)
    assert duration > 0
    assert abs(duration - lifetime) < max(1.0, 0.2 * lifetime), (duration, lifetime)
    # Blank, Home, About, the red end: the picture changed over time, and in that order.
    assert len(set(pictures)) >= 3
    assert pictures[0] != pictures[-1]

    # The file is kept in the recordings folder, and only the right token opens it.
    assert [p.suffix for p in folder.iterdir()] == [".webm"]
    wrong = stopped.recording_url.rsplit("/", 1)[0] + "/wrong.webm"
    assert httpx.get(wrong).status_code == 404

    # A session that drove this browser answers POST /sessions/{id}/recording with its video;
    # one whose browser recorded nothing answers 404.
    sessions: SessionManager = server.app.state.persistence.sessions
    recorded = sessions.record("browse", status=SessionStatus.STOPPED, browser_id=browser.id)
    unrecorded = sessions.record("browse", browser_id=str(uuid.uuid4()))
    with client_for(server) as client:
        assert client.sessions.recording(recorded["id"]).recording_url == stopped.recording_url
        with pytest.raises(errors.NotFoundError, match="has no recording"):
            client.sessions.recording(unrecorded["id"])


def test_a_browser_that_crashes_still_leaves_its_recording(
    make_server: Callable[..., ServerThread], pages: PageServer, tmp_path: Path
) -> None:
    server = make_server(recordings_dir=tmp_path)
    with client_for(server) as client:
        browser = client.browsers.create(enable_recording=True, timeout=5)
        process = server.manager.get(browser.id or "").process
        assert process is not None
        time.sleep(0.5)
        os.kill(process.pid, signal.SIGKILL)
        # The status turns at once; the video follows when the encoder has closed it.
        wait_until(
            lambda: client.browsers.get(browser.id or "").recording_url is not None,
            15,
            "the recording of the crashed browser",
        )
        ended = client.browsers.get(browser.id or "")
    assert ended.status == "error" and ended.recording_url is not None
    with av.open(io.BytesIO(httpx.get(ended.recording_url).content)) as container:
        assert (container.duration or 0) / av.time_base > 0.3
    assert _encoders() == []


def test_without_enable_recording_nothing_is_recorded(
    make_server: Callable[..., ServerThread], tmp_path: Path
) -> None:
    folder = tmp_path / "recordings"
    server = make_server(recordings_dir=folder)
    with client_for(server) as client:
        browser = client.browsers.create(timeout=5)
        assert not server.app.state.screencasts.running(browser.id)  # no screencast at all
        assert not server.app.state.recorder.recording(browser.id)
        client.browsers.stop(browser.id or "")
        stopped = client.browsers.get(browser.id or "")
    assert stopped.recording_url is None
    assert "recording_url" not in (stopped.model_extra or {})
    assert not folder.exists() or not any(folder.iterdir())
    assert RecordingStore(folder).url_path(browser.id or "") is None


def test_an_unwritable_recordings_folder_is_a_clear_503(
    make_server: Callable[..., ServerThread], tmp_path: Path
) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("in the way")
    server = make_server(recordings_dir=not_a_folder)
    answer = create_browser(server, {"enable_recording": True}, timeout=5)
    assert answer.status_code == 503
    assert "recording" in answer.json()["detail"]
    assert server.manager.active() == []


def test_recording_store_finds_only_safe_names(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path)
    (tmp_path / "b1.secret-token.webm").write_bytes(b"video")
    assert store.url_path("b1") == "/recordings/b1/secret-token.webm"
    assert store.open("b1", "secret-token") == tmp_path / "b1.secret-token.webm"
    assert store.open("b1", "other") is None
    assert store.url_path("*") is None and store.open("../b1", "secret-token") is None
    assert store.url_path("b2") is None
