"""One browser the server runs, as the manager and every hook see it: ids, token, state."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bu_cdp.models import BrowserStatus
from bu_cdp.server.browsers.admission import Slot
from bu_cdp.server.chromium.launch import ChromiumProcess
from bu_cdp.server.shared.schemas import BrowserCreateRequest


@dataclass
class ManagedBrowser:
    id: str
    token: str = field(repr=False)  # the secret in the browser's cdp_url and live_url
    request: BrowserCreateRequest
    workdir: Path  # removed when the browser finishes
    timeout_minutes: int
    window: tuple[int, int]
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    status: BrowserStatus = BrowserStatus.ACTIVE
    stopped_at: datetime | None = None
    reason: str | None = None  # why it ended, when it did not end by a stop
    # Addresses hooks publish on the Browser object, as paths on this server
    # (for example "live_url": "/live/<id>/<token>"); the routes make them absolute.
    links: dict[str, str] = field(default_factory=dict, repr=False)  # they hold tokens
    process: ChromiumProcess | None = None
    # Close Chromium over CDP before killing it, so it writes its profile out (set by hooks
    # whose user data must survive the browser, such as profiles).
    graceful_close: bool = False
    # Closers of open CDP relays and live views, run when the browser ends.
    closers: set[Callable[[], Awaitable[None]]] = field(default_factory=set)
    from_pool: bool = False  # its Chromium came from the warm pool
    _keeps_workdir: bool = False  # its work folder went back to the warm pool with its Chromium
    # Set once its ending begins (``_end``): from then on it is not active, its token void.
    _ending_task: asyncio.Task[None] | None = field(default=None, repr=False)
    _ended: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _slot: Slot | None = None  # its place under max_browsers, given back when it ends

    @property
    def active(self) -> bool:
        return self.status == BrowserStatus.ACTIVE and self._ending_task is None

    @property
    def user_data_dir(self) -> Path:
        return self.workdir / "user-data"

    def lifetime_seconds(self) -> float:
        end = self.stopped_at or datetime.now(UTC)
        return (end - self.created_at).total_seconds()
