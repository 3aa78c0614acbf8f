"""Billing on the local server: a ledger of browser time and sessions, a price, a credit.

Browser time runs from the moment Chromium is ready until the browser ends, in API minutes
(``ServerConfig.minute_seconds`` real seconds each; 60 outside tests). A browser's minutes and
cost are fixed in the store when it ends; a running browser counts up to now. Sessions are
counted; they carry no price here. With a credit configured, creating a browser needs a balance
above zero; stopping never does. The balance is the data folder's: several servers sharing a
folder share one ledger and one credit.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bu_cdp.server.browsers.hooks import BrowserHooks
from bu_cdp.server.config import ServerConfig
from bu_cdp.server.shared.problems import ApiProblem
from bu_cdp.server.shared.schemas import BrowserCreateRequest
from bu_cdp.server.storage.store import Store, now, parse_time


@dataclass(frozen=True)
class Pricing:
    minute_seconds: float
    price_per_browser_hour: float

    def charge(self, started: datetime, stopped: datetime) -> tuple[float, float]:
        """(API minutes, cost) of a browser that ran from ``started`` to ``stopped``."""
        minutes = max(0.0, (stopped - started).total_seconds()) / self.minute_seconds
        return minutes, minutes / 60.0 * self.price_per_browser_hour


@dataclass
class _Day:
    browser_minutes: float = 0.0
    browsers: int = 0
    sessions: int = 0
    cost: float = 0.0

    def as_dict(self, date: str) -> dict[str, Any]:
        return {
            "date": date,
            "browser_minutes": round(self.browser_minutes, 6),
            "browsers": self.browsers,
            "sessions": self.sessions,
            "cost": round(self.cost, 6),
        }


class BillingAccount:
    def __init__(self, store: Store, config: ServerConfig) -> None:
        self.store = store
        self.credit = config.credit
        self.pricing = Pricing(config.minute_seconds, config.price_per_browser_hour)

    def _days(self) -> dict[str, _Day]:
        """The ledger by UTC day a browser started (or a session was created)."""
        days: dict[str, _Day] = defaultdict(_Day)
        ended = self.store.rows(
            "SELECT substr(started_at, 1, 10) AS day, count(*) AS browsers,"
            " total(minutes) AS minutes, total(cost) AS cost"
            " FROM browsers WHERE minutes IS NOT NULL GROUP BY day"
        )
        for row in ended:
            day = days[row["day"]]
            day.browsers += row["browsers"]
            day.browser_minutes += row["minutes"]
            day.cost += row["cost"]
        moment = now()
        for row in self.store.rows("SELECT started_at FROM browsers WHERE minutes IS NULL"):
            minutes, cost = self.pricing.charge(parse_time(row["started_at"]), moment)
            day = days[row["started_at"][:10]]
            day.browsers += 1
            day.browser_minutes += minutes
            day.cost += cost
        sessions = self.store.rows(
            "SELECT substr(created_at, 1, 10) AS day, count(*) AS n FROM sessions GROUP BY day"
        )
        for row in sessions:
            days[row["day"]].sessions += row["n"]
        return days

    def usage(self) -> dict[str, Any]:
        days = self._days()
        total = _Day()
        for day in days.values():
            total.browser_minutes += day.browser_minutes
            total.browsers += day.browsers
            total.sessions += day.sessions
            total.cost += day.cost
        answer = total.as_dict("")
        del answer["date"]
        return {
            **answer,
            "price_per_browser_hour": self.pricing.price_per_browser_hour,
            "minute_seconds": self.pricing.minute_seconds,
            "days": [days[date].as_dict(date) for date in sorted(days)],
        }

    def cost(self) -> float:
        """What every browser of the data folder has cost so far, whichever server ran it.

        Ended browsers come from the running total the store keeps; running ones (few, found
        through the status index) count up to now. No scan of the ledger.
        """
        row = self.store.row("SELECT value FROM totals WHERE name = 'browser_cost'")
        ended = float(row["value"]) if row is not None else 0.0
        moment = now()
        running = self.store.rows(
            "SELECT started_at FROM browsers WHERE status = 'active' AND minutes IS NULL"
        )
        return ended + sum(
            self.pricing.charge(parse_time(r["started_at"]), moment)[1] for r in running
        )

    def balance(self) -> dict[str, Any]:
        """``balance`` is the credit minus the cost so far; without a credit, minus the cost."""
        cost = self.cost()
        return {
            "balance": round((self.credit or 0.0) - cost, 6),
            "credit": self.credit,
            "cost": round(cost, 6),
        }


class CreditCheck(BrowserHooks):
    """Refuse new browsers (402) once a configured credit is used up, before they take a slot.

    The credit is compared with the cost of the whole data folder: every browser of every
    server that has used it, as ``GET /billing/balance`` shows.
    """

    def __init__(self, billing: BillingAccount) -> None:
        self.billing = billing

    async def check(self, request: BrowserCreateRequest) -> None:
        credit = self.billing.credit
        if credit is None:
            return
        cost = await asyncio.to_thread(self.billing.cost)
        if cost >= credit:
            raise ApiProblem(
                402,
                f"No credit left: browsers have cost {cost:.4f} of the credit of {credit:g} "
                "this server was given (--credit / ServerConfig.credit); raise the credit to "
                "create more browsers. Stopping browsers never needs credit.",
            )
