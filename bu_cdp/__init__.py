"""bu-cdp: drive remote Chromium with Playwright through the Browser Use Cloud API v3.

Public names are imported lazily, so ``import bu_cdp`` stays cheap and never imports
Playwright or the local server.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "remote_browser": "bu_cdp.remote",
    "async_remote_browser": "bu_cdp.remote",
    "RemoteBrowser": "bu_cdp.remote",
    "AsyncRemoteBrowser": "bu_cdp.remote",
    "BrowserUse": "bu_cdp.client",
    "AsyncBrowserUse": "bu_cdp.client",
}

__all__ = [
    "AsyncBrowserUse",
    "AsyncRemoteBrowser",
    "BrowserUse",
    "RemoteBrowser",
    "__version__",
    "async_remote_browser",
    "remote_browser",
]

if TYPE_CHECKING:
    from bu_cdp.client import AsyncBrowserUse, BrowserUse
    from bu_cdp.remote import (
        AsyncRemoteBrowser,
        RemoteBrowser,
        async_remote_browser,
        remote_browser,
    )


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'bu_cdp' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
