"""Billing: the ledger of browser time, its price, and a credit that runs out.

Browser lengths are set with each browser's own ``timeout`` (in API minutes) on a server whose
API minute lasts ``minute_seconds`` real seconds, so the ledger is known in advance.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from bu_cdp import errors
from bu_cdp.models import Browser
from bu_cdp.server.thread import ServerThread
from tests.support.local_api import client_for
from tests.support.waiting import wait_until


def _api_minutes(browser: Browser, minute_seconds: float) -> float:
    """A browser's life as the API reports it (created_at to stopped_at), in API minutes."""
    extra = browser.model_extra or {}
    created = datetime.fromisoformat(extra["created_at"])
    stopped = datetime.fromisoformat(extra["stopped_at"])
    return (stopped - created).total_seconds() / minute_seconds


def test_the_ledger_after_two_browsers_of_known_length(
    make_server: Callable[..., ServerThread], tmp_path: Path
) -> None:
    price = 6.0  # per browser-hour: 0.1 per API minute
    server = make_server(data_dir=tmp_path, minute_seconds=1.0, price_per_browser_hour=price)
    with client_for(server) as client:
        assert client.billing.usage().model_extra == {
            "browser_minutes": 0.0,
            "browsers": 0,
            "sessions": 0,
            "cost": 0.0,
            "price_per_browser_hour": price,
            "minute_seconds": 1.0,
            "days": [],
        }
        one = client.browsers.create(timeout=1)
        two = client.browsers.create(timeout=2)
        ended = []
        for browser in (one, two):
            wait_until(
                lambda b=browser: client.browsers.get(b.id or "").status == "timed_out",
                60,
                f"browser {browser.id} to time out",
            )
            # A stop of an ended browser answers once its ending is complete, ledger included.
            ended.append(client.browsers.stop(browser.id or ""))
            assert ended[-1].status == "timed_out"

        usage = client.billing.usage().model_extra or {}
        assert usage["browsers"] == 2
        # Billed from the moment each browser was ready to the moment its timeout stopped it:
        # at least its 1 + 2 minutes; at most its life as the API reports it, which began
        # (created_at) before Chromium was ready (the ledger keeps 6 decimals).
        lived = sum(_api_minutes(browser, usage["minute_seconds"]) for browser in ended)
        assert 3.0 <= usage["browser_minutes"] <= lived + 1e-6
        assert usage["cost"] == pytest.approx(usage["browser_minutes"] * price / 60, rel=1e-4)
        assert sum(day["browsers"] for day in usage["days"]) == 2
        assert sum(day["browser_minutes"] for day in usage["days"]) == pytest.approx(
            usage["browser_minutes"]
        )
        assert client.billing.balance().balance == pytest.approx(-usage["cost"], abs=1e-6)


def test_creating_a_browser_without_credit_gets_402_but_stopping_works(
    make_server: Callable[..., ServerThread], tmp_path: Path
) -> None:
    # One credit, and one API minute (0.2 s here) of a browser costs exactly that.
    server = make_server(
        data_dir=tmp_path, minute_seconds=0.2, price_per_browser_hour=60.0, credit=1.0
    )
    with client_for(server) as client:
        assert client.billing.balance().balance == 1.0
        running = client.browsers.create()
        wait_until(
            lambda: (client.billing.balance().balance or 0.0) <= 0, 60, "the credit to run out"
        )

        with pytest.raises(errors.PaymentRequiredError, match="No credit left"):
            client.browsers.create()
        assert client.browsers.stop(running.id or "").status == "stopped"
        # The running browser only: the refused create never started one, so bills nothing.
        assert (client.billing.usage().model_extra or {})["browsers"] == 1
