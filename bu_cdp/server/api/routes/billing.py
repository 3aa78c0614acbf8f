"""The billing paths: usage (totals and a per-day breakdown) and balance.

Plain functions, which FastAPI runs in its thread pool: the store waits for the disk.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from bu_cdp.server.storage.billing import BillingAccount

router = APIRouter(tags=["Billing"])


def _billing(request: Request) -> BillingAccount:
    billing: BillingAccount = request.app.state.persistence.billing
    return billing


@router.get("/billing/usage")
def usage(request: Request) -> dict[str, Any]:
    return _billing(request).usage()


@router.get("/billing/balance")
def balance(request: Request) -> dict[str, Any]:
    return _billing(request).balance()
