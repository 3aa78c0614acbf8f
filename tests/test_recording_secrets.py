"""A recording's token stays secret while it is made, and its URL outlives the server."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import httpx

from bu_cdp.server.thread import ServerThread
from tests.support.local_api import client_for
from tests.support.processes import children_of


def _encoder_command_lines() -> list[bytes]:
    """The command lines of this process's running encoder children (any local user can
    read them, as here, from /proc)."""
    return [p.cmdline for p in children_of(os.getpid(), "bu_cdp.server.recording.encoding_child")]


def test_a_recording_token_is_never_on_a_command_line_and_its_url_outlives_the_server(
    make_server: Callable[..., ServerThread], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    first = make_server(data_dir=data)
    with client_for(first) as client:
        browser = client.browsers.create(enable_recording=True, timeout=5)
        while_recording = _encoder_command_lines()
        client.browsers.stop(browser.id or "")
        recording_url = client.browsers.get(browser.id or "").recording_url
    assert recording_url is not None
    token = recording_url.rsplit("/", 1)[1].removesuffix(".webm")
    assert len(while_recording) == 1
    assert token.encode() not in while_recording[0]
    first.stop()

    # A server started later on the same data folder answers for that browser from the
    # store, its recording included, at its own address.
    second = make_server(data_dir=data)
    with client_for(second) as client:
        earlier = client.browsers.get(browser.id or "")
    assert earlier.status == "stopped"
    assert earlier.recording_url is not None
    assert earlier.recording_url.endswith(recording_url.split("/recordings/", 1)[1])
    assert earlier.recording_url.startswith(second.base_url.removesuffix("/api/v3"))
    video = httpx.get(earlier.recording_url, timeout=30)
    assert video.status_code == 200
    assert video.headers["content-type"] == "video/webm" and len(video.content) > 0
    assert (data / "recordings").is_dir()  # kept in the data folder
