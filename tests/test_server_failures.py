"""Failures that must not leak, bill, lie or answer 500."""

from __future__ import annotations

import asyncio
import secrets
import socket
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from bu_cdp.errors import ConfigurationError
from bu_cdp.server.chromium.launch import ChromiumProcess
from bu_cdp.server.config import ServerConfig
from bu_cdp.server.thread import ServerThread
from tests.support.local_api import create_browser, key_header


def test_a_bad_setting_at_start_up_leaves_nothing_open(tmp_path: Path) -> None:
    data = tmp_path / "data"
    config = ServerConfig(
        api_key=secrets.token_urlsafe(16),
        port=0,
        data_dir=data,
        proxies={"us": "socks5://proxy.example:1080"},
    )
    with pytest.raises(ConfigurationError, match="proxy for country code 'us'"):
        ServerThread(config)
    assert not data.exists()  # the store (database, run lock) was never opened
    with socket.socket() as again:  # and the port it had bound is free again
        again.bind(("127.0.0.1", config.port))
        again.listen()


def test_a_browser_whose_recording_cannot_start_is_not_billed(
    make_server: Callable[..., ServerThread], tmp_path: Path
) -> None:
    (tmp_path / "a-file").write_text("")
    server = make_server(data_dir=tmp_path / "data", recordings_dir=tmp_path / "a-file" / "rec")
    created = httpx.post(
        f"{server.base_url}/browsers",
        json={"enable_recording": True},
        headers=key_header(server),
        timeout=60,
    )
    assert created.status_code == 503, created.text
    assert "recording" in created.json()["detail"]
    usage = httpx.get(f"{server.base_url}/billing/usage", headers=key_header(server)).json()
    assert usage["browsers"] == 0 and usage["browser_minutes"] == 0


def test_a_browser_of_another_server_on_the_same_data_folder_cannot_be_stopped_here(
    make_server: Callable[..., ServerThread], tmp_path: Path
) -> None:
    owner = make_server(data_dir=tmp_path / "data")
    other = make_server(data_dir=tmp_path / "data")
    created = create_browser(owner, {}).json()
    stop_path = f"/browsers/{created['id']}/stop"

    refused = httpx.post(other.base_url + stop_path, headers=key_header(other))
    assert refused.status_code == 409
    assert "another bu-cdp server" in refused.json()["detail"]
    assert owner.manager.get(created["id"]).active  # still running, as the 409 says

    stopped = httpx.post(owner.base_url + stop_path, headers=key_header(owner), timeout=60)
    assert stopped.json()["status"] == "stopped"
    again = httpx.post(other.base_url + stop_path, headers=key_header(other))
    assert (again.status_code, again.json()["status"]) == (200, "stopped")  # ended: no-op


def test_json_version_answers_502_when_chromium_cannot_be_reached(server: ServerThread) -> None:
    created = create_browser(server, {}).json()
    process = server.manager.get(created["id"]).process
    assert process is not None
    # Chromium ending between the token check and the call, made certain: the server's end
    # of its pipe is taken for ended (as when Chromium closes it) before the server asks.
    # Closing the pipe for real would make Chromium quit, and the browser end, too soon.
    loop = server.manager.get(created["id"])._tasks[0].get_loop()
    asyncio.run_coroutine_threadsafe(_pipe_ended(process), loop).result(10)
    version_url = created["cdp_url"].replace("ws", "http", 1) + "/json/version"
    answer = httpx.get(version_url, timeout=30)
    assert answer.status_code == 502
    assert "Chromium could not be reached" in answer.json()["detail"]
    httpx.post(f"{server.base_url}/browsers/{created['id']}/stop", headers=key_header(server))


async def _pipe_ended(process: ChromiumProcess) -> None:
    process.pipe._end()
