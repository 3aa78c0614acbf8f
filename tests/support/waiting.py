"""Waiting for what happens on its own (a crash noticed, a timeout, a pool refilled)."""

from __future__ import annotations

import time
from collections.abc import Callable

POLL_SECONDS = 0.05


def wait_until(check: Callable[[], object], seconds: float, message: str) -> None:
    """Poll ``check`` until it is true; fail naming ``message`` after ``seconds``.

    A check may raise to give up early (say, the process it waits for has died).
    """
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {seconds:g}s for {message}")
        time.sleep(POLL_SECONDS)
