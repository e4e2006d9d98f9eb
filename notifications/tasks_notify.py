"""Celery tasks of the notification pipeline: one task per batch of outbox events (as the relay publishes them;
`process_event` for a single one is still accepted), send tasks per chunk of messages,
and the sweeps (notifications/sweeps.py). Task names and queues: notifications/contract.py.

Tasks acknowledge late (celery_app): a worker that dies mid-task leaves the task to be delivered again, and the
sweeps cover the case where it is not (see sweeps.py). Everything a task does is idempotent, keyed by the
message's dedup key and guarded by the claim, so running one twice sends nothing twice. Business failures are
recorded on the messages, never raised; what is raised (MongoDB unreachable) is logged by Celery, and the
sweeps pick the work up again.
"""

from __future__ import annotations

from typing import Any

import structlog

from config.settings import get_settings
from notifications.celery_app import app
from notifications.contract import PROCESS_EVENT, PROCESS_EVENTS, SEND_MESSAGES, SWEEP, TIME_OUT_UNCONFIRMED
from notifications.worker_runtime import Pipeline, runtime

log = structlog.get_logger(__name__)


def _run(make: Any) -> Any:
    return runtime(get_settings(), app).run(make)


async def _process(pipeline: Pipeline, event_id: str, event: dict[str, Any] | None) -> None:
    if event is None:
        event = await pipeline.outbox.get(event_id)
        if event is None:
            log.error("notification_event_missing", event_id=event_id)
            return
    planned = await pipeline.fanout.run(event)
    if planned.claimed:
        await pipeline.delivery.send_claimed(planned.claimed)
    if planned.to_queue:
        await pipeline.delivery.publish(planned.to_queue, planned.queue, None)
    log.info("notification_event_processed", event_id=event_id, topic=event["topic"], recorded=planned.recorded,
             sent_now=len(planned.claimed), queued=len(planned.to_queue), queue=planned.queue)


async def _process_many(pipeline: Pipeline, events: list[dict[str, Any]]) -> None:
    """A batch from the relay: one fan-out for all (contract.event_batches), its claimed messages sent
    together (up to ZSB_NOTIFY_SEND_CONCURRENCY in flight), the rest queued per queue."""
    planned = await pipeline.fanout.run_many(events)
    claimed = [item for plan in planned for item in plan.claimed]
    if claimed:
        await pipeline.delivery.send_claimed(claimed)
    to_queue: dict[str, list[str]] = {}
    for plan in planned:
        if plan.to_queue:
            to_queue.setdefault(plan.queue, []).extend(plan.to_queue)
    for queue, ids in to_queue.items():
        await pipeline.delivery.publish(ids, queue, None)
    log.info("notification_events_processed", events=len(events), recorded=sum(p.recorded for p in planned),
             sent_now=len(claimed), queued=sum(len(ids) for ids in to_queue.values()))


@app.task(name=PROCESS_EVENTS, ignore_result=True)
def process_events(events: list[dict[str, Any]]) -> None:
    """Fan a batch of outbox events out (the relay's unit) and send what is due."""
    _run(lambda pipeline: _process_many(pipeline, events))


@app.task(name=PROCESS_EVENT, ignore_result=True)
def process_event(event_id: str, event: dict[str, Any] | None = None) -> None:
    """Fan one outbox event out into messages (and the in-app items) and send what is due."""
    _run(lambda pipeline: _process(pipeline, event_id, event))


@app.task(name=SEND_MESSAGES, ignore_result=True)
def send_messages(message_ids: list[str]) -> None:
    _run(lambda pipeline: pipeline.delivery.send_ids(message_ids))


@app.task(name=SWEEP, ignore_result=True)
def sweep() -> None:
    _run(lambda pipeline: pipeline.sweeper.sweep())


@app.task(name=TIME_OUT_UNCONFIRMED, ignore_result=True)
def time_out_unconfirmed() -> None:
    _run(lambda pipeline: pipeline.sweeper.time_out_unconfirmed())
