"""The contract between the outbox relay (its own process), the API and the Celery worker: task names, queues,
and what a task carries.

Kept apart from the task module so the relay publishes without importing the worker's code. Queues follow
celery_app.QUEUES: `urgent` (login codes, overdue alerts) > `default` (a case's progress to its applicant) >
`bulk` (an event to many people, e.g. bills published to a class).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

PROCESS_EVENT = "notifications.process_event"  # one event (still accepted: tasks queued before batches)
PROCESS_EVENTS = "notifications.process_events"  # a batch of events, as the relay publishes them
SEND_MESSAGES = "notifications.send_messages"
SWEEP = "notifications.sweep"
TIME_OUT_UNCONFIRMED = "notifications.time_out_unconfirmed"

BULK_RECIPIENTS = 20  # an event to more people than this goes to the bulk queue, its sends in chunks
SEND_CHUNK = 50  # message ids per send task
EVENTS_PER_TASK = 50  # events per process_events task (the relay's batches) ...
RECIPIENTS_PER_TASK = 100  # ... and at most about this many recipients in one task (a bulk event goes alone)


def queue_for(*, urgent: bool, recipients: int) -> str:
    if urgent:
        return "urgent"
    return "bulk" if recipients > BULK_RECIPIENTS else "default"


def event_batches(events: list[dict[str, Any]], queue_of: Any) -> list[tuple[str, list[dict[str, Any]]]]:
    """Group events by queue, in order, into tasks of at most EVENTS_PER_TASK events and about
    RECIPIENTS_PER_TASK recipients: `[(queue, events)]`. One task per batch instead of one per event is what
    lets the worker look recipients up, record and send a batch at once."""
    open_: dict[str, tuple[list[dict[str, Any]], int]] = {}
    batches: list[tuple[str, list[dict[str, Any]]]] = []
    for event in events:
        queue, size = queue_of(event), max(1, len(event.get("recipients") or ()))
        current, counted = open_.get(queue, ([], 0))
        if current and (len(current) >= EVENTS_PER_TASK or counted + size > RECIPIENTS_PER_TASK):
            batches.append((queue, current))
            current, counted = [], 0
        current.append(event)
        open_[queue] = (current, counted + size)
    batches += [(queue, current) for queue, (current, _) in open_.items() if current]
    return batches


def event_payload(doc: dict[str, Any]) -> dict[str, Any]:
    """The outbox event as a task argument (JSON: times as ISO strings). Outbox data is already masked."""
    return {key: _plain(value) for key, value in doc.items() if key in (
        "_id", "topic", "key", "recipients", "data", "subject", "urgent", "created_at")}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
