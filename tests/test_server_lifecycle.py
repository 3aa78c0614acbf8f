"""How browsers end, and what the server says about it: crash, timeout, failed start."""

from __future__ import annotations

import os
import signal
import stat
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import websockets
from websockets.sync.client import connect

from bu_cdp.server.thread import ServerThread
from tests.support.local_api import client_for, create_browser, key_header
from tests.support.processes import live_chromiums
from tests.support.waiting import wait_until


def test_kill_9_of_chromium_turns_its_browser_to_error_and_frees_its_slot(
    make_server: Callable[..., ServerThread],
) -> None:
    server = make_server(max_browsers=1, queue_timeout=0.2)
    with client_for(server) as client:
        browser = client.browsers.create(timeout=5)
        process = server.manager.get(browser.id or "").process
        assert process is not None
        os.kill(process.pid, signal.SIGKILL)

        wait_until(lambda: client.browsers.get(browser.id or "").status == "error", 30, "error")
        answer = httpx.get(
            f"{server.base_url}/browsers/{browser.id}",
            headers=key_header(server),
        ).json()
        assert answer["reason"] == "Chromium exited unexpectedly (killed by SIGKILL)"
        assert answer["stopped_at"]
        assert process.pid not in live_chromiums()
        assert server.manager.snapshot()["crashes"] == 1
        # The crashed browser's slot is free again: the limit is 1 and this create succeeds.
        again = client.browsers.create(timeout=5)
        assert again.status == "active"
        assert client.browsers.stop(browser.id or "").status == "error"  # stays what it was
        client.browsers.stop(again.id or "")


def test_a_browser_past_its_timeout_is_timed_out_and_its_chromium_gone(
    make_server: Callable[..., ServerThread],
) -> None:
    server = make_server(minute_seconds=1.0)  # test setting: a one-second "minute"
    with client_for(server) as client:
        browser = client.browsers.create(timeout=1)
        assert browser.status == "active"
        managed = server.manager.get(browser.id or "")
        assert managed.process is not None
        pid, workdir = managed.process.pid, managed.workdir

        wait_until(
            lambda: client.browsers.get(browser.id or "").status == "timed_out", 30, "timeout"
        )
        assert pid not in live_chromiums()
        wait_until(lambda: not workdir.exists(), 30, "its work folder to be removed")
        assert managed.reason and "timeout" in managed.reason
        with pytest.raises(websockets.InvalidStatus, match="403"):
            connect(browser.cdp_url or "", open_timeout=5)  # its token opens nothing now
        assert server.manager.snapshot()["timeouts"] == 1


def test_a_missing_chromium_is_a_clear_503_not_a_hang(
    make_server: Callable[..., ServerThread], tmp_path: Path
) -> None:
    server = make_server(chromium=str(tmp_path / "no-such-chromium"), warm=1)
    answer = create_browser(server, {}, timeout=30)
    assert answer.status_code == 503
    assert "Chromium not found: set BU_CDP_CHROMIUM" in answer.json()["detail"]
    metrics = server.manager.snapshot()
    assert metrics["active_browsers"] == 0
    assert metrics["pool_ready"] == 0
    assert metrics["launch_failures"] >= 2  # the pool's attempt and the create's, counted


def test_a_chromium_that_never_comes_up_is_tried_twice_then_503(
    make_server: Callable[..., ServerThread], tmp_path: Path
) -> None:
    stuck = tmp_path / "stuck-chromium"
    stuck.write_text("#!/bin/sh\nwhile :; do sleep 1; done\n")  # runs, never opens a port
    stuck.chmod(stuck.stat().st_mode | stat.S_IEXEC)
    server = make_server(chromium=str(stuck), launch_timeout=0.5)
    answer = create_browser(server, {}, timeout=30)
    assert answer.status_code == 503
    assert "did not answer on its DevTools pipe" in answer.json()["detail"]
    metrics = server.manager.snapshot()
    assert (metrics["launches"], metrics["launch_failures"]) == (2, 2)
    assert not live_chromiums(str(tmp_path))  # both attempts' processes were killed
