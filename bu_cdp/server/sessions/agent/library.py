"""Importing ``browser-use``: once, quietly, and leaving nothing behind.

On import it would report telemetry, set up logging, check for a newer version, write its
config folder into the user's home, and make a default browser profile whose downloads folder
stays, empty, in the temp folder. ``load`` turns the first four off (config in the server's
data folder) and removes that folder.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from pathlib import Path

_lock = threading.Lock()
_loaded = False


def load(config_dir: Path) -> None:
    """Import browser-use (once per process) as the server needs it."""
    global _loaded
    with _lock:
        if _loaded:
            return
        for name, value in (
            ("BROWSER_USE_CONFIG_DIR", str(config_dir)),
            ("ANONYMIZED_TELEMETRY", "false"),
            ("BROWSER_USE_CLOUD_SYNC", "false"),
            ("BROWSER_USE_SETUP_LOGGING", "false"),
            ("BROWSER_USE_VERSION_CHECK", "false"),
            ("BROWSER_USE_CLOUD_HINTS", "false"),
        ):
            os.environ.setdefault(name, value)
        from browser_use.browser.session import DEFAULT_BROWSER_PROFILE

        for folder in (
            DEFAULT_BROWSER_PROFILE.downloads_path,
            DEFAULT_BROWSER_PROFILE.user_data_dir,
        ):
            if folder is not None and Path(folder).parent == Path(tempfile.gettempdir()):
                with contextlib.suppress(OSError):  # not empty: not only its own, so kept
                    Path(folder).rmdir()
        _loaded = True
