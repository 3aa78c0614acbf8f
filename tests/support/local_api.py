"""Talking to a local server in tests: a client for it, or raw HTTP with its key."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bu_cdp import BrowserUse
from bu_cdp.server.thread import ServerThread


def client_for(server: ServerThread) -> BrowserUse:
    return BrowserUse(base_url=server.base_url, api_key=server.config.api_key)


def key_header(server: ServerThread) -> dict[str, str]:
    return {"X-Browser-Use-API-Key": server.config.api_key}


def create_browser(
    server: ServerThread, body: dict[str, Any], *, timeout: float = 60
) -> httpx.Response:
    """``POST /browsers`` with ``body``, the answer as it came (no status raised)."""
    return httpx.post(
        server.base_url + "/browsers", json=body, headers=key_header(server), timeout=timeout
    )


def configure_environment(server: ServerThread, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point what reads the environment (the command, recipes, the plugin) at ``server``, as a
    user's environment would."""
    monkeypatch.setenv("BU_CDP_BASE_URL", server.base_url)
    monkeypatch.setenv("BROWSER_USE_API_KEY", server.config.api_key)
