"""The hosted dialect's answers: the server's views (seed words) reshaped as the hosted
document has them. camelCase, list envelopes, the hosted statuses; no logic of their own.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any, TypeVar

from bu_cdp.models import BrowserStatus
from bu_cdp.server.storage.billing import Pricing
from bu_cdp.server.storage.store import now, parse_time, timestamp


def money(amount: float) -> str:
    """A decimal string, as the document types costs (no exponent)."""
    return f"{amount:.6f}"


T = TypeVar("T")


def page_window(items: list[T], number: int, size: int) -> list[T]:
    """Page ``number`` (from 1) of ``size`` items."""
    start = (number - 1) * size
    return items[start : start + size]


def page_envelope(
    items: list[dict[str, Any]], total: int, number: int, size: int
) -> dict[str, Any]:
    """``{items, totalItems, pageNumber, pageSize}``: the hosted lists of browsers, profiles,
    workspaces."""
    return {"items": items, "totalItems": total, "pageNumber": number, "pageSize": size}


def browser(view: dict[str, Any], pricing: Pricing) -> dict[str, Any]:
    """A ``BrowserSessionView``; ``timeoutAt`` in real time (``pricing.minute_seconds``)."""
    created = parse_time(view["created_at"])
    stopped = parse_time(view["stopped_at"]) if view.get("stopped_at") else None
    lifetime = timedelta(seconds=view.get("timeout", 0) * pricing.minute_seconds)
    active = view["status"] == BrowserStatus.ACTIVE.value
    return {
        "id": view["id"],
        "status": "active" if active else "stopped",  # the hosted API has no other status
        "liveUrl": view.get("live_url") if active else None,
        "cdpUrl": view.get("cdp_url") if active else None,
        "timeoutAt": timestamp(created + lifetime),
        "startedAt": timestamp(created),
        "finishedAt": timestamp(stopped) if stopped else None,
        "proxyUsedMb": "0",
        "proxyCost": "0",
        "browserCost": money(pricing.charge(created, stopped or now())[1]),
        "agentSessionId": None,
        "recordingUrl": view.get("recording_url"),
    }


def named(view: dict[str, Any]) -> dict[str, Any]:
    """A ``ProfileView`` or ``WorkspaceView``: a name left out is stored empty, shown null.

    The store keeps no separate update time, so ``updatedAt`` is the creation's.
    """
    return {
        "id": view["id"],
        "name": view["name"] or None,
        "createdAt": view["created_at"],
        "updatedAt": view.get("updated_at", view["created_at"]),
    }


def profile(view: dict[str, Any]) -> dict[str, Any]:
    # The local server keeps no user id and reads no cookie list out of saved profiles.
    return {**named(view), "userId": None, "lastUsedAt": None, "cookieDomains": None}


DEFAULT_MODEL = "claude-opus-4.7"  # the document's default, for sessions that name none


def session(view: dict[str, Any], recording_urls: list[str]) -> dict[str, Any]:
    """A ``SessionResponse``; ``updatedAt`` is the stop's time, else the creation's."""
    return {
        "id": view["id"],
        "status": view["status"],
        "model": view.get("model") or DEFAULT_MODEL,
        "output": view.get("output"),
        "outputSchema": view.get("output_schema"),
        "stepCount": len(view.get("steps") or []),
        "lastStepSummary": None,
        "isTaskSuccessful": None,
        "liveUrl": view.get("live_url"),
        "recordingUrls": recording_urls,
        "profileId": view.get("profile_id"),
        "workspaceId": view.get("workspace_id"),
        "proxyCountryCode": view.get("proxy_country_code"),
        "createdAt": view["created_at"],
        "updatedAt": view.get("stopped_at") or view["created_at"],
    }


def message(item: dict[str, Any], index: int, view: dict[str, Any]) -> dict[str, Any]:
    """A ``MessageResponse`` of one stored message (the seed face leaves their shape open);
    a message without an id gets one derived from its session and place."""
    derived = uuid.uuid5(uuid.UUID(view["id"]), str(index))
    data = item.get("data", item.get("content", ""))
    return {
        "id": str(item.get("id") or derived),
        "sessionId": view["id"],
        "role": str(item.get("role", "ai")),
        "data": data if isinstance(data, str) else json.dumps(data),
        "type": str(item.get("type", "")),
        "summary": str(item.get("summary", "")),
        "screenshotUrl": item.get("screenshot_url"),
        "hidden": bool(item.get("hidden", False)),
        "createdAt": item.get("created_at") or view["created_at"],
    }
