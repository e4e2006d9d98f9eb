"""From one outbox event to its messages: render the template once, look every recipient up in bulk, record one
in-app item per recipient and one message per recipient for the first channel of their chain.

Everything is recorded before anything is sent, with unique keys, so running this twice for the same event
(a second dispatch, a task delivered again after a crash) records nothing new and sends nothing twice. What
cannot be sent is recorded too, as a permanent failure with its reason (unknown template, missing value,
recipient without any channel), so nothing loops and operations can see why. A small event's messages are
recorded already claimed (`sending`, with a lease) and sent by the same task; a big event's are queued in
chunks so several workers share it; messages held by quiet hours wait for the sweep.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from accounts.people import ContactPoints
from core.clock import bson_time
from core.ids import new_id
from notifications.contract import BULK_RECIPIENTS, queue_for
from notifications.inbox import InboxRepository, inbox_key
from notifications.messages import MessageRepository, dedup_key
from notifications.quiet_hours import QuietHours, due_at
from notifications.recipients import Directory, Key, Reach, channel_chain
from notifications.rendering import TemplateDataError
from notifications.states import Channel, Reason, State
from notifications.templates import ChannelProblem, Rendered, TemplateBook, render


@dataclass
class Planned:
    """What the caller sends now (claimed, with the contact), and what it queues (ids) on `queue`."""

    queue: str
    claimed: list[tuple[dict[str, Any], ContactPoints | None]] = field(default_factory=list)
    to_queue: list[str] = field(default_factory=list)
    recorded: int = 0


def payload(part: object) -> dict[str, Any]:
    return asdict(part)  # type: ignore[call-overload]


def history(*steps: tuple[State, datetime, str | None]) -> list[dict[str, Any]]:
    return [{"state": s.value, "at": at, **({"reason": r} if r else {})} for s, at, r in steps]


def message_doc(event: dict[str, Any], key: Key, channel: Channel, *, state: State, now: datetime, due: datetime,
                queue: str, urgent: bool, template_ref: str | None, lease_s: float,
                content: dict[str, Any] | None = None, fallback: list[dict[str, Any]] | None = None,
                reason: Reason | None = None, detail: str = "", fallback_of: str | None = None) -> dict[str, Any]:
    """A message document as recorded (see messages.py for the lifecycle)."""
    kind, rid = key
    sending = state is State.SENDING
    failed = state in (State.PERMANENT_FAILURE, State.TECHNICAL_FAILURE)
    steps = [(State.CREATED, now, None)] + ([(state, now, reason.value if reason else None)]
                                            if state is not State.CREATED else [])
    return {
        "_id": new_id(), "dedup": dedup_key(event["_id"], kind, rid, channel.value), "event_id": event["_id"],
        "topic": event["topic"], "template": template_ref, "urgent": urgent, "queue": queue,
        "recipient": {"kind": kind, "id": rid}, "channel": channel.value, "content": content,
        "fallback": fallback or [], "fallback_of": fallback_of, "state": state.value,
        "reason": reason.value if reason else None, "detail": detail[:300] or None, "provider_code": None,
        "attempts": 1 if sending else 0, "due_at": due, "queued_at": None,
        "lease_until": now + timedelta(seconds=lease_s) if sending else None, "sending_at": now if sending else None,
        "provider": None, "provider_ref": None, "sent_at": None, "delivered_at": None,
        "failed_at": now if failed else None, "grant_taken": False,
        "event_created_at": event.get("created_at"), "created_at": now, "updated_at": now, "history": history(*steps),
    }


def template_data(event: dict[str, Any]) -> dict[str, Any]:
    """What the template may use: the event's data, plus `at` (when the event was recorded) unless it says."""
    data = dict(event.get("data") or {})
    if data.get("at") in (None, "") and event.get("created_at"):
        data["at"] = event["created_at"]
    return data


class FanOut:
    def __init__(self, messages: MessageRepository, inbox: InboxRepository, directory: Directory,
                 book: TemplateBook, *, quiet: QuietHours | None, lease_s: float) -> None:
        self.messages, self.inbox, self.directory, self.book = messages, inbox, directory, book
        self.quiet, self.lease_s = quiet, lease_s

    async def run(self, event: dict[str, Any], *, now: datetime | None = None) -> Planned:
        return (await self.run_many([event], now=now))[0]

    async def run_many(self, events: list[dict[str, Any]], *, now: datetime | None = None) -> list[Planned]:
        """Fan a batch of events out at once: every recipient of the batch looked up in one query per kind, the
        in-app items and the messages of the whole batch recorded in one insert each. One Planned per event."""
        moment = bson_time(now)
        prepared = []
        for event in events:
            keys = await self.directory.expand(list(event.get("recipients") or []), dict(event.get("data") or {}))
            template = self.book.latest(event["topic"])
            urgent = bool(event.get("urgent")) or bool(template and template.urgent)
            queue = queue_for(urgent=urgent, recipients=len(keys))
            due = bson_time(due_at(moment, urgent=urgent, quiet=self.quiet))
            inline = len(keys) <= BULK_RECIPIENTS and due <= moment
            rendered: Rendered | None = None
            problem: tuple[Reason, str] | None = None
            if template is None:
                problem = (Reason.UNKNOWN_TEMPLATE, f"没有主题为 {event['topic']} 的模板")
            else:
                try:
                    rendered = render(template, template_data(event))
                except TemplateDataError as exc:
                    problem = (exc.reason, exc.detail)
            common = {"now": moment, "due": due, "queue": queue, "urgent": urgent,
                      "template_ref": template.ref if template else None, "lease_s": self.lease_s}
            prepared.append((event, keys, queue, inline, rendered, problem, common))
        every_key = list(dict.fromkeys(key for _, keys, *_ in prepared for key in keys))
        reaches = await self.directory.reach(every_key) if every_key else {}
        per_event: list[list[dict[str, Any]]] = []
        items: list[dict[str, Any]] = []
        for event, keys, _queue, inline, rendered, problem, common in prepared:
            docs: list[dict[str, Any]] = []
            for key in keys:
                reach = reaches[key]
                if problem is not None or rendered is None:
                    reason, detail = problem or (Reason.UNKNOWN_TEMPLATE, "")
                    docs.append(message_doc(event, key, Channel.NONE, state=State.PERMANENT_FAILURE, reason=reason,
                                            detail=detail, **common))
                    continue
                if reach.contact is not None:
                    items.append(self._inbox_item(event, key, rendered, moment))
                docs += self._messages_for(event, key, reach, rendered, inline=inline, common=common)
            per_event.append(docs)
        await self.inbox.insert_new(items)
        inserted = await self.messages.insert_new([doc for docs in per_event for doc in docs])
        return [await self._plan(event, docs, inserted, reaches, queue, moment)
                for (event, _keys, queue, *_), docs in zip(prepared, per_event, strict=True)]

    def _messages_for(self, event: dict[str, Any], key: Key, reach: Reach, rendered: Rendered, *, inline: bool,
                      common: dict[str, Any]) -> list[dict[str, Any]]:
        chain, reason, detail = channel_chain(reach, rendered)
        if not chain:
            return [message_doc(event, key, Channel.NONE, state=State.PERMANENT_FAILURE,
                                reason=reason or Reason.NO_CHANNEL, detail=detail, **common)]
        docs = []
        steps = [(channel, rendered.parts[channel.value]) for channel in chain]
        while steps and isinstance(steps[0][1], ChannelProblem):  # this channel's part cannot render: next one
            channel, part = steps.pop(0)
            assert isinstance(part, ChannelProblem)
            docs.append(message_doc(event, key, channel, state=State.PERMANENT_FAILURE, reason=part.reason,
                                    detail=part.detail, **common))
        usable = [(c, p) for c, p in steps if not isinstance(p, ChannelProblem)]
        if usable:
            (channel, part), rest = usable[0], usable[1:]
            docs.append(message_doc(
                event, key, channel, state=State.SENDING if inline else State.CREATED, content=payload(part),
                fallback=[{"channel": c.value, "content": payload(p)} for c, p in rest], **common))
        return docs

    @staticmethod
    def _inbox_item(event: dict[str, Any], key: Key, rendered: Rendered, now: datetime) -> dict[str, Any]:
        kind, rid = key
        return {"_id": new_id(), "dedup": inbox_key(event["_id"], kind, rid), "event_id": event["_id"],
                "topic": event["topic"], "template": rendered.ref, "recipient": {"kind": kind, "id": rid},
                "title": rendered.title, "body": rendered.body, "link": rendered.link,
                "subject": event.get("subject") or {}, "unread": True, "read_at": None, "created_at": now}

    async def _plan(self, event: dict[str, Any], docs: list[dict[str, Any]], inserted: set[str],
                    reaches: dict[Key, Reach], queue: str, now: datetime) -> Planned:
        recorded = sum(1 for doc in docs if doc["_id"] in inserted)
        planned = Planned(queue=queue, recorded=recorded)
        for doc in docs:
            if doc["_id"] not in inserted:
                continue
            if doc["state"] == State.SENDING.value:
                key = (doc["recipient"]["kind"], doc["recipient"]["id"])
                planned.claimed.append((doc, reaches[key].contact))
            elif doc["state"] == State.CREATED.value and doc["due_at"] <= now:
                planned.to_queue.append(doc["_id"])
        if recorded < len(docs):  # recorded before (a second dispatch): pick up what is still unsent
            known = set(planned.to_queue)
            planned.to_queue += [i for i in await self.messages.sendable_of_event(event["_id"], now) if i not in known]
        return planned
