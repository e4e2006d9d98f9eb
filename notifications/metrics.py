"""Delivery state counts and failure reasons as Prometheus gauges on the API's `/metrics`.

The counts live in MongoDB (every worker process writes them), so the API computes them from there rather than
each worker exporting counters nobody scrapes. An aggregation on every scrape would load the database with the
scrape rate; the snapshot is refreshed at most every REFRESH_S seconds, single-flight.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import Gauge

REFRESH_S = 15.0

MESSAGES = Gauge("zsb_notification_messages", "Notification messages by delivery state and channel",
                 ["state", "channel"])
FAILURES = Gauge("zsb_notification_failures", "Failed notification messages by state, channel and reason",
                 ["state", "channel", "reason"])
OUTBOX = Gauge("zsb_outbox_events", "Outbox events by relay state", ["state"])


class NotificationMetrics:
    def __init__(self, snapshot: Callable[[], Awaitable[dict[str, Any]]], *, refresh_s: float = REFRESH_S) -> None:
        self.snapshot, self.refresh_s = snapshot, refresh_s
        self._at = float("-inf")
        self._lock = asyncio.Lock()

    async def refresh(self) -> None:
        """Bring the gauges up to date if the last refresh is older than `refresh_s`."""
        if time.monotonic() - self._at < self.refresh_s:
            return
        async with self._lock:
            if time.monotonic() - self._at < self.refresh_s:
                return
            stats = await self.snapshot()
            self._at = time.monotonic()
        publish(stats)


def publish(stats: dict[str, Any]) -> None:
    """Set the gauges from a stats snapshot (series that vanished are cleared, not left at their last value)."""
    MESSAGES.clear()
    for row in stats["messages"]:
        MESSAGES.labels(row["state"], row["channel"]).set(row["count"])
    FAILURES.clear()
    for row in stats["failures"]:
        FAILURES.labels(row["state"], row["channel"], row["reason"] or "unknown").set(row["count"])
    OUTBOX.clear()
    for state, count in stats["outbox"].items():
        OUTBOX.labels(state).set(count)
