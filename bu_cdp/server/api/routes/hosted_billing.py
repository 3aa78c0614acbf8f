"""``GET /billing/account`` of the hosted face: the seed face's balance, in the hosted words.

Plain function, run in FastAPI's thread pool: the store waits for the disk.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request

from bu_cdp.server.api.hosted_errors import HostedRoute
from bu_cdp.server.browsers.manager import BrowserManager
from bu_cdp.server.storage.billing import BillingAccount

router = APIRouter(tags=["Billing"], route_class=HostedRoute)

PLAN_NAME = "bu-cdp local server"


@router.get("/billing/account")
def account(request: Request) -> dict[str, Any]:
    billing: BillingAccount = request.app.state.persistence.billing
    manager: BrowserManager = request.app.state.manager
    balance = billing.balance()["balance"]
    # One project per data folder: its id is derived from the folder, so it stays the same.
    project = uuid.uuid5(uuid.NAMESPACE_URL, billing.store.data_dir.resolve().as_uri())
    return {
        "name": None,
        "totalCreditsBalanceUsd": balance,
        "monthlyCreditsBalanceUsd": 0.0,
        "additionalCreditsBalanceUsd": balance,
        # Browsers at once: the nearest thing to a rate limit this server has.
        "rateLimit": manager.config.max_browsers,
        # Not in the document yet, but required by the official SDK's model of the answer.
        "concurrentSessionLimit": manager.config.max_browsers,
        "activeSessionCount": len(manager.active()),
        "planInfo": {
            "planName": PLAN_NAME,
            "subscriptionStatus": None,
            "subscriptionId": None,
            "subscriptionCurrentPeriodEnd": None,
            "subscriptionCanceledAt": None,
        },
        "isFreeTier": False,
        "projectId": str(project),
    }
