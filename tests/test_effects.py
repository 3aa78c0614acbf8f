"""The sync/async seam (``bu_cdp.effects``): a procedure names each method where it calls it
(``call(obj.method, ...)``), so mypy checks the name on both faces, and at run time a misspelt
one is an ``AttributeError`` at once, in the procedure, never handed to the runner as a string
that fails later (the connect loop used to retry that for its whole bound and then report a
misleading ``BrowserConnectError``)."""

from __future__ import annotations

import pytest

from bu_cdp.effects import run_async, run_sync
from bu_cdp.models import Browser, BrowserStatus
from bu_cdp.options import plan_browser
from bu_cdp.remote.life import _BrowserLife


class _NoConnect:
    """The mistake under test itself: a Playwright browser type without ``connect_over_cdp``
    (what a misspelt method name amounts to). No real part can stand for a mistake."""


def _attached_life() -> _BrowserLife:
    life = _BrowserLife(plan_browser("RemoteBrowser", {"connect_timeout": 30}))
    life.attach_to = "ws://127.0.0.1:9/devtools/browser/nobody"
    life.record = Browser(cdp_url=life.attach_to, status=BrowserStatus.ACTIVE)
    return life


def test_a_missing_method_fails_at_once_in_the_sync_runner() -> None:
    with pytest.raises(AttributeError, match="connect_over_cdp"):
        run_sync(_attached_life()._connect(None, _NoConnect(), None))  # type: ignore[arg-type]


async def test_a_missing_method_fails_at_once_in_the_async_runner() -> None:
    with pytest.raises(AttributeError, match="connect_over_cdp"):
        await run_async(_attached_life()._connect(None, _NoConnect(), None))  # type: ignore[arg-type]
