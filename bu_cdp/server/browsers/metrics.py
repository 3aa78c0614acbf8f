"""Counters and create latencies of one server, for the metrics endpoint."""

from __future__ import annotations

import collections
import statistics
from dataclasses import dataclass, field
from typing import Any

LATENCY_WINDOW = 500  # the most recent creates the latency figures describe


@dataclass
class ServerMetrics:
    launches: int = 0  # Chromium starts, pool refills included
    launch_failures: int = 0  # starts that failed (each attempt of a retried start counts)
    crashes: int = 0  # browsers whose Chromium died on its own
    timeouts: int = 0  # browsers the server stopped at their timeout
    creates: int = 0  # creates answered with a browser
    creates_from_pool: int = 0
    creates_failed: int = 0  # creates answered with an error other than 429
    cdp_connections: int = 0  # relayed CDP sockets opened to Chromium (valid tokens only)
    _latencies: collections.deque[float] = field(
        default_factory=lambda: collections.deque(maxlen=LATENCY_WINDOW)
    )

    def created(self, seconds: float, from_pool: bool) -> None:
        self.creates += 1
        self.creates_from_pool += from_pool
        self._latencies.append(seconds)

    def latency_ms(self) -> dict[str, Any]:
        """Last, mean and 95th percentile of the recent creates, queueing included."""
        values = list(self._latencies)
        if not values:
            return {"count": 0, "last": None, "avg": None, "p95": None}
        p95 = (
            statistics.quantiles(values, n=20, method="inclusive")[-1]
            if len(values) > 1
            else values[0]
        )
        return {
            "count": len(values),
            "last": round(values[-1] * 1000, 1),
            "avg": round(statistics.fmean(values) * 1000, 1),
            "p95": round(p95 * 1000, 1),
        }
