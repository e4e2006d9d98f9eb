"""The outbox relay: hands pending outbox events to Celery, one task per event, and marks them dispatched.

Run as its own process (`python -m notifications.relay`, started by `./dev run` and by the tests). Each round
reads the oldest pending events, publishes a `process_event` task for each (on the queue its urgency and size
call for) and marks the published ones `dispatched`. The order matters: publish first, then mark. A crash
between the two leaves the event pending and it is published again next round, so an event may be handed
over twice but never lost; the consumers are idempotent (messages.py dedup keys). If Redis is down the
publish fails, nothing is marked, and the events wait in the outbox until it is back.

What wakes a round: a change stream on the outbox collection (SecantusDB supports change streams, transactions
included; checked: an insert inside a committed transaction is seen once), so a new event is handed over
within milliseconds; and, whatever happens to the stream, a poll every ZSB_NOTIFY_RELAY_POLL_S. The stream is
only a doorbell: what to publish always comes from the `pending` query, so a missed or duplicated change
costs nothing, and the relay works with polling alone when a server has no change streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import structlog
from celery import Celery

from config.logging import configure_logging
from config.settings import Settings, get_settings
from core.outbox import OutboxRepository
from notifications.contract import PROCESS_EVENT, event_payload, queue_for
from notifications.templates import default_book

log = structlog.get_logger(__name__)

PublishBatch = Callable[[list[dict[str, Any]]], list[str]]  # events → ids published (blocking)
MAX_BACKOFF_S = 10.0


class PartialPublish(Exception):
    """The broker failed after some events of the batch had been published (they are marked, the rest wait)."""

    def __init__(self, published: list[str], cause: BaseException) -> None:
        super().__init__(f"{len(published)} published before: {type(cause).__name__}: {cause}")
        self.published, self.cause = published, cause


def celery_publisher(app: Celery) -> PublishBatch:
    """Publish over one broker connection per batch; a broker error stops the batch (PartialPublish)."""
    book = default_book()

    def publish(events: list[dict[str, Any]]) -> list[str]:
        published: list[str] = []
        try:
            with app.producer_or_acquire() as producer:
                for event in events:
                    template = book.latest(event["topic"])
                    urgent = bool(event.get("urgent")) or bool(template and template.urgent)
                    queue = queue_for(urgent=urgent, recipients=len(event.get("recipients") or ()))
                    app.send_task(PROCESS_EVENT, args=[event["_id"], event_payload(event)], queue=queue,
                                  producer=producer, retry=True,
                                  retry_policy={"max_retries": 1, "interval_start": 0.2, "interval_step": 0.2})
                    published.append(event["_id"])
        except Exception as exc:
            raise PartialPublish(published, exc) from exc
        return published

    return publish


class OutboxRelay:
    def __init__(self, outbox: OutboxRepository, publish: PublishBatch, *, batch: int, poll_s: float) -> None:
        self.outbox, self.publish, self.batch, self.poll_s = outbox, publish, batch, poll_s
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="relay-publish")
        self.wake = asyncio.Event()
        self.change_stream: str = "starting"  # "active", "unavailable: …" — reported in the logs and tests
        self.published = 0

    async def run_once(self) -> int:
        """One round: publish up to `batch` pending events and mark them. Returns how many were handed over."""
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
        if failure is not None:
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
                        if await stream.try_next() is not None:
                            self.wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.change_stream = f"unavailable: {type(exc).__name__}"
                log.warning("relay_change_stream", status="unavailable", error=f"{type(exc).__name__}: {exc}"[:300])
            await asyncio.sleep(self.poll_s * 5)

    async def run(self, stop: asyncio.Event, *, use_change_stream: bool = True) -> None:
        watcher = asyncio.create_task(self.watch()) if use_change_stream else None
        backoff = 0.0
        try:
            while not stop.is_set():
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
                if handed < self.batch:  # caught up: wait for the doorbell or the next poll
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
    configure_logging(configured.log_level, service="relay")
    asyncio.run(main(configured))
