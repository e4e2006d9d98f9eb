"""The beat sweeps: the safety net that makes the pipeline whole again after anything was lost on the way.

Celery with Redis loses a task when a worker is killed mid-task (late acks give it back only after the
visibility timeout) or when a Redis without persistence restarts; quiet hours hold messages on purpose. One
sweep, every `ZSB_NOTIFY_SWEEP_INTERVAL_S`, finds the state such losses leave behind and queues it again:
- `created` messages that are due and have no live task (released at 08:00, or their task was lost);
- `sending` messages whose lease ran out (the sender died; the claim lets exactly one worker take them);
- outbox events dispatched long ago: `processed` if their messages exist, otherwise back to `pending` for the
  relay (their task was lost before it recorded anything).
Everything it queues is idempotent downstream, so a sweep that overlaps a slow but live task costs a no-op.
A second, hourly job turns `sent` messages that never got a delivery report within 72 h into
temporary-failure (Notify's rule).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog

from core.clock import bson_time
from core.outbox import OutboxRepository
from notifications.contract import SEND_CHUNK
from notifications.delivery import Publish
from notifications.messages import MessageRepository
from notifications.states import Reason

log = structlog.get_logger(__name__)
BATCH = 5000


class Sweeper:
    def __init__(self, messages: MessageRepository, outbox: OutboxRepository, publish: Publish, *,
                 requeue_after_s: float, unconfirmed_after_s: float,
                 clock: Callable[[], datetime] = bson_time) -> None:
        self.messages, self.outbox, self.publish = messages, outbox, publish
        self.requeue_after = timedelta(seconds=requeue_after_s)
        self.unconfirmed_after = timedelta(seconds=unconfirmed_after_s)
        self.clock = clock

    async def sweep(self) -> dict[str, int]:
        now = self.clock()
        due = await self.messages.due_unqueued(now=now, requeue_before=now - self.requeue_after, limit=BATCH)
        await self.messages.mark_queued([d["_id"] for d in due], now=now)
        stale = await self.messages.stale_sending(now=now, limit=BATCH)
        by_queue: dict[str, list[str]] = defaultdict(list)
        for doc in due + stale:
            by_queue[doc.get("queue") or "default"].append(doc["_id"])
        for queue, ids in by_queue.items():
            for start in range(0, len(ids), SEND_CHUNK):
                await self.publish(ids[start:start + SEND_CHUNK], queue, None)
        processed, lost = await self._settle_outbox(now)
        counts = {"released": len(due), "reclaimed": len(stale), "events_processed": processed,
                  "events_redispatched": lost}
        if any(counts.values()):
            log.info("notification_sweep", **counts)
        return counts

    async def _settle_outbox(self, now: datetime) -> tuple[int, int]:
        events = await self.outbox.unsettled(dispatched_before=now - self.requeue_after)
        if not events:
            return 0, 0
        with_messages = await self.messages.events_with_messages([e["_id"] for e in events])
        processed = [e["_id"] for e in events if e["_id"] in with_messages or not e.get("recipients")]
        lost = [e["_id"] for e in events if e["_id"] not in processed]
        await self.outbox.settle(processed=processed, lost=lost, now=now)
        return len(processed), len(lost)

    async def time_out_unconfirmed(self) -> int:
        now = self.clock()
        count = await self.messages.time_out_unconfirmed(sent_before=now - self.unconfirmed_after, now=now,
                                                         reason=Reason.UNCONFIRMED.value)
        if count:
            log.warning("notifications_unconfirmed", count=count, after_h=self.unconfirmed_after.total_seconds() / 3600)
        return count
