"""The outbox relay: hands pending outbox events to Celery, in batches of events, and marks them dispatched.

The events of a round go to Celery in batches (one `process_events` task per up to
contract.EVENTS_PER_TASK events of one queue), so a worker fans a batch out at once.

Run as its own process (`python -m notifications.relay`, started by `./dev run` and by the tests). Each round
reads the oldest pending events, publishes `process_events` tasks for them (on the queue its urgency and size
call for) and marks the published ones `dispatched`. The order matters: publish first, then mark. A crash
between the two leaves the event pending and it is published again next round, so an event may be handed
over twice but never lost; the consumers are idempotent (messages.py dedup keys). If Redis is down the
publish fails, nothing is marked, and the events wait in the outbox until it is back.

What wakes a round: a change stream on the outbox collection (SecantusDB supports change streams, transactions
included; checked: an insert inside a committed transaction is seen once), so a new event is handed over
within milliseconds; and, whatever happens to the stream, a poll every ZSB_NOTIFY_RELAY_POLL_S. The stream's
insert events carry the new events, which a round hands over directly (see OutboxRelay); the `pending` query
stays the source of truth for everything else, so a missed or duplicated change costs nothing, and the relay
works with polling alone when a server has no change streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import signal
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import structlog
from celery import Celery

from config.logging import configure_logging
from config.settings import Settings, check_production_safety, get_settings
from core.outbox import OutboxRepository
from notifications.contract import EVENTS_PER_TASK, PROCESS_EVENTS, event_batches, event_payload, queue_for
from notifications.templates import default_book

log = structlog.get_logger(__name__)

PublishBatch = Callable[[list[dict[str, Any]]], list[str]]  # events → ids published (blocking)
MAX_BACKOFF_S = 10.0
MAX_FRESH = 100_000  # events held from the stream; beyond that the query picks them up
RECENT_KEPT = 50_000  # ids of events handed over lately, not published again when the stream shows them
# During a burst the stream's server round trip (getMore) returned one or two events each, a hundred times a
# second — 8 % of the local database's work. After a change that needed a round trip (longer than LOCAL_S; one
# from the driver's batch takes microseconds) the watcher waits STREAM_PACE_S, so a round trip brings what
# gathered meanwhile: at most ~50 a second, each new event handed over at most that much later.
STREAM_PACE_S = 0.02
LOCAL_S = 0.001
# Likewise a round: while the stream brings events one by one, a round waits GATHER_S for a task's worth
# (EVENTS_PER_TASK) before handing them over, so a burst makes tasks of fifty events, not of one or two — each
# task's fan-out costs the same few database commands whatever its size.
GATHER_S = 0.05


class PartialPublish(Exception):
    """The broker failed after some events of the batch had been published (they are marked, the rest wait)."""

    def __init__(self, published: list[str], cause: BaseException) -> None:
        super().__init__(f"{len(published)} published before: {type(cause).__name__}: {cause}")
        self.published, self.cause = published, cause


def celery_publisher(app: Celery) -> PublishBatch:
    """Publish over one broker connection per round, a `process_events` task per batch of events (grouped by
    queue, contract.event_batches); a broker error stops the round (PartialPublish: earlier batches count)."""
    book = default_book()

    def queue_of(event: dict[str, Any]) -> str:
        template = book.latest(event["topic"])
        urgent = bool(event.get("urgent")) or bool(template and template.urgent)
        return queue_for(urgent=urgent, recipients=len(event.get("recipients") or ()))

    def publish(events: list[dict[str, Any]]) -> list[str]:
        published: list[str] = []
        try:
            with app.producer_or_acquire() as producer:
                for queue, batch in event_batches(events, queue_of):
                    app.send_task(PROCESS_EVENTS, args=[[event_payload(event) for event in batch]], queue=queue,
                                  producer=producer, retry=True,
                                  retry_policy={"max_retries": 1, "interval_start": 0.2, "interval_step": 0.2})
                    published += [event["_id"] for event in batch]
        except Exception as exc:
            raise PartialPublish(published, exc) from exc
        return published

    return publish


class OutboxRelay:
    """What to hand over comes from two places. The change stream's insert events carry the new events whole
    (`fresh`), so while the stream is active a round publishes those without asking the database again. The
    `pending` query is the source of truth and runs whenever nothing fresh is waiting, after a failed round,
    at start, and at least every FULL_POLL_EVERY polls' worth of time under a steady stream; it catches what
    the stream cannot show (events put back to `pending` by the sweep, events recorded while the stream was
    down). The query matters for cost: SecantusDB reads every pending document to answer it, so during a
    burst of thousands of events polling each round made the relay itself the bottleneck (seconds per round)."""

    FULL_POLL_EVERY = 20  # × poll_s

    def __init__(self, outbox: OutboxRepository, publish: PublishBatch, *, batch: int, poll_s: float) -> None:
        self.outbox, self.publish, self.batch, self.poll_s = outbox, publish, batch, poll_s
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="relay-publish")
        self.wake = asyncio.Event()
        self.change_stream: str = "starting"  # "active", "unavailable: …" — reported in the logs and tests
        self.published = 0
        self.fresh: dict[str, dict[str, Any]] = {}  # announced by the stream, not handed over yet (in order)
        self.recent: OrderedDict[str, None] = OrderedDict()  # handed over lately: the query may see them too
        self.last_poll = -math.inf

    def _take_fresh(self) -> list[dict[str, Any]] | None:
        """Up to `batch` events announced by the stream, or None when this round must query instead."""
        if (not self.fresh or self.change_stream != "active"
                or time.monotonic() - self.last_poll > self.poll_s * self.FULL_POLL_EVERY):
            return None
        taken = [self.fresh.pop(event_id) for event_id in list(itertools.islice(self.fresh, self.batch))]
        return [event for event in taken if event["_id"] not in self.recent]

    async def run_once(self) -> int:
        """One round: publish up to `batch` pending events and mark them. Returns how many were handed over."""
        events = self._take_fresh()
        if events is None:
            self.last_poll = time.monotonic()
            events = await self.outbox.pending(self.batch)
        if not events:
            return 0
        loop = asyncio.get_running_loop()
        try:
            published = await loop.run_in_executor(self.executor, self.publish, events)
            failure: PartialPublish | None = None
        except PartialPublish as exc:
            published, failure = exc.published, exc
        if published:
            await self.outbox.mark_dispatched(published)
            self.published += len(published)
            self.recent.update(dict.fromkeys(published))
            while len(self.recent) > RECENT_KEPT:
                self.recent.popitem(last=False)
        if failure is not None:
            self.fresh.clear()  # the query finds what was not handed over
            self.last_poll = -math.inf
            raise failure
        return len(published)

    async def watch(self) -> None:
        """Set `wake` on every new outbox event; on any failure fall back to polling and try again later."""
        while True:
            try:
                stream = await self.outbox.watch_new()
                async with stream:
                    self.change_stream = "active"
                    log.info("relay_change_stream", status="active")
                    while stream.alive:
                        asked = time.monotonic()
                        change = await stream.try_next()
                        if change is None:
                            continue
                        event = change.get("fullDocument")
                        if event is not None and event.get("state") == "pending" and len(self.fresh) < MAX_FRESH:
                            self.fresh[event["_id"]] = event
                        self.wake.set()
                        if time.monotonic() - asked > LOCAL_S:  # it asked the server: let a few more gather
                            await asyncio.sleep(STREAM_PACE_S)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.change_stream = f"unavailable: {type(exc).__name__}"
                self.fresh.clear()
                log.warning("relay_change_stream", status="unavailable", error=f"{type(exc).__name__}: {exc}"[:300])
            await asyncio.sleep(self.poll_s * 5)

    async def run(self, stop: asyncio.Event, *, use_change_stream: bool = True) -> None:
        watcher = asyncio.create_task(self.watch()) if use_change_stream else None
        backoff = 0.0
        try:
            while not stop.is_set():
                if self.change_stream == "active" and 0 < len(self.fresh) < EVENTS_PER_TASK:
                    await _sleep_or_stop(stop, GATHER_S)  # a burst: let a task's worth gather
                self.wake.clear()
                try:
                    handed = await self.run_once()
                    backoff = 0.0
                except Exception as exc:  # broker or database down: the events wait in the outbox
                    backoff = min(MAX_BACKOFF_S, max(0.5, backoff * 2))
                    log.warning("relay_round_failed", error=f"{type(exc).__name__}: {exc}"[:300],
                                retry_in_s=backoff)
                    await _sleep_or_stop(stop, backoff)
                    continue
                if handed:
                    log.info("relay_published", events=handed)
                if handed < self.batch and not self.fresh:  # caught up: wait for the doorbell or the next poll
                    waiter = asyncio.ensure_future(self.wake.wait())
                    stopper = asyncio.ensure_future(stop.wait())
                    await asyncio.wait({waiter, stopper}, timeout=self.poll_s, return_when=asyncio.FIRST_COMPLETED)
                    waiter.cancel()
                    stopper.cancel()
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
            self.executor.shutdown(wait=False)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def main(settings: Settings) -> None:
    from config.wiring import mongo_client
    from notifications.celery_app import create_celery

    mongo = mongo_client(settings)
    outbox = OutboxRepository(mongo[settings.mongodb_db])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    while not stop.is_set():  # the database may be starting alongside us (./dev run)
        try:
            await outbox.ensure_indexes()
            break
        except Exception as exc:
            log.info("relay_waiting_for_mongodb", error=type(exc).__name__)
            await _sleep_or_stop(stop, 1.0)
    relay = OutboxRelay(outbox, celery_publisher(create_celery(settings)), batch=settings.notify_relay_batch,
                        poll_s=settings.notify_relay_poll_s)
    log.info("relay_started", batch=relay.batch, poll_s=relay.poll_s)
    try:
        await relay.run(stop)
    finally:
        await mongo.close()
        log.info("relay_stopped", published=relay.published)


if __name__ == "__main__":
    configured = get_settings()
    check_production_safety(configured)  # as the API does: no development secrets or simulators in production
    configure_logging(configured.log_level, service="relay")
    asyncio.run(main(configured))
