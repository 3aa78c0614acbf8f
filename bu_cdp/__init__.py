"""bu-cdp: drive remote Chromium with Playwright through the Browser Use Cloud API v3.

Public names are imported lazily, so ``import bu_cdp`` stays cheap and never imports
Playwright or the local server.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from bu_cdp import settings as _settings
from bu_cdp.wire import VERSION as __version__

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
    from bu_cdp.settings import Target


def _start_embedded() -> Target:
    # The package's root is the one place that knows both the client's settings and the
    # embedded server's launcher: it joins them, so neither imports the other.
    from bu_cdp.embedded import embedded_target

    return embedded_target()


_settings.provide_embedded_default(_start_embedded)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'bu_cdp' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
