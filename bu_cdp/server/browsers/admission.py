"""How many browsers may run at once: a slot per browser, a short bounded queue, then 429.

A create takes a slot before anything is launched and the browser gives it back when it
ends, however it ends. Past the limit a create waits, first come first served, for at most
``queue_timeout`` seconds in a queue of at most ``max_queued``; after that (or at once when
the queue is full) it is refused with 429 and a Retry-After, which clients already honour.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math

from bu_cdp.server.shared.problems import ApiProblem

# A freed slot goes to the queue at once, so a client told to come back should not wait
# long; but not so soon that a burst of retries finds the same full house.
MAX_RETRY_AFTER = 5


class Slot:
    """One running browser's place; ``release()`` may be called any number of times."""

    def __init__(self, admission: Admission) -> None:
        self._admission: Admission | None = admission

    def release(self) -> None:
        if self._admission is not None:
            admission, self._admission = self._admission, None
            admission._release()


class Admission:
    def __init__(self, limit: int, max_queued: int, queue_timeout: float) -> None:
        self.limit = max(1, limit)
        self.max_queued = max(0, max_queued)
        self.queue_timeout = max(0.0, queue_timeout)
        self.in_use = 0
        self.rejected = 0
        self._waiting: collections.deque[asyncio.Future[None]] = collections.deque()
        self._closed = False

    @property
    def queued(self) -> int:
        # Every waiter in the queue is still waiting: each leaves it in the same step that
        # ends its wait (``_release`` hands it a slot, ``_give_up`` and ``close`` cancel it).
        return len(self._waiting)

    async def acquire(self) -> Slot:
        if self._closed:
            raise ApiProblem(503, "The server is shutting down")
        if self.in_use < self.limit and not self.queued:
            self.in_use += 1
            return Slot(self)
        if self.queued >= self.max_queued:
            raise self._busy(f"{self.max_queued} creates are already waiting")
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            await asyncio.wait({waiter}, timeout=self.queue_timeout)
        except asyncio.CancelledError:  # the client went away while waiting
            self._give_up(waiter)
            raise
        if not waiter.done():
            self._give_up(waiter)
            raise self._busy(f"no slot freed within {self.queue_timeout:g}s")
        if waiter.cancelled():  # closed while waiting
            raise ApiProblem(503, "The server is shutting down")
        return Slot(self)  # the slot was handed over by _release, already counted

    def _give_up(self, waiter: asyncio.Future[None]) -> None:
        if waiter.done() and not waiter.cancelled():
            self._release()  # a slot arrived just as we stopped waiting: pass it on
        else:
            waiter.cancel()
        with contextlib.suppress(ValueError):
            self._waiting.remove(waiter)

    def _release(self) -> None:
        if self._waiting:
            self._waiting.popleft().set_result(None)  # the slot changes hands; in_use stays
        else:
            self.in_use = max(0, self.in_use - 1)

    def _busy(self, why: str) -> ApiProblem:
        self.rejected += 1
        retry_after = max(1, min(MAX_RETRY_AFTER, math.ceil(self.queue_timeout)))
        return ApiProblem(
            429,
            f"Too many browsers: {self.in_use} of {self.limit} are running and {why}",
            headers={"Retry-After": str(retry_after)},
        )

    def close(self) -> None:
        """Refuse new creates and wake every waiting one with a 503."""
        self._closed = True
        while self._waiting:
            self._waiting.popleft().cancel()
