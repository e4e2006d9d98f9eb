"""Sending messages: claim, send through the channel, record the outcome, retry or fall back.

- Accepted → `sent` (SMS: a report will follow) or `delivered` (WeChat), written in bulk (RECORD_EVERY).
- Transient failure (timeout, 5xx, busy, throttled) → back to `created`, due after the retry policy's backoff,
  and a send task is queued with that countdown; once the tries are used up → `technical-failure`.
- Permanent failure → `permanent-failure` with the reason; never retried.
- A WeChat message that cannot be delivered (no grant, not a follower, bad openid, refused, or technical
  failure) is followed by one message on the next channel of the person's chain (usually the SMS). The
  fallback message has its own unique key, so it is made once however often this runs.
A failure inside a channel that is not a DeliveryError (a bug) is recorded as `technical-failure` and logged
with its traceback, rather than raised into a retry loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import structlog

from accounts.people import ContactPoints
from core.clock import bson_time
from notifications.channels.delivery_port import ChannelSender, DeliveryError
from notifications.fanout import message_doc
from notifications.messages import MessageRepository
from notifications.recipients import Directory
from notifications.retry_policy import RetryPolicy
from notifications.states import FALLBACK_REASONS, WECHAT, Channel, Reason, State

log = structlog.get_logger(__name__)

# Accepted sends are recorded `sent` in bulk writes of up to this many (and at the end of every batch): one write
# instead of one per message. The price: a worker killed between a provider's acceptance and that write leaves
# those messages `sending`, and they are sent again when their lease runs out (see docs/notifications.md).
RECORD_EVERY = 16
Publish = Callable[[list[str], str, float | None], Awaitable[None]]  # ids, queue, countdown seconds


class Delivery:
    def __init__(self, messages: MessageRepository, directory: Directory, channels: Mapping[Channel, ChannelSender],
                 policy: RetryPolicy, *, lease_s: float, publish: Publish, concurrency: int = 8,
                 clock: Callable[[], datetime] = bson_time) -> None:
        self.messages, self.directory, self.channels, self.policy = messages, directory, dict(channels), policy
        self.lease_s, self.publish, self.clock = lease_s, publish, clock
        self.concurrency = concurrency
        self._accepted: list[tuple[str, str, str, bool]] = []  # accepted by a provider, `sent` not yet written

    async def send_claimed(self, items: list[tuple[dict[str, Any], ContactPoints | None]]) -> None:
        """Messages this worker already holds (claimed when recorded), with their recipients' contacts. What the
        providers accept is recorded in bulk, every RECORD_EVERY acceptances and when the batch ends."""
        limit = asyncio.Semaphore(self.concurrency)

        async def one(doc: dict[str, Any], contact: ContactPoints | None) -> None:
            async with limit:
                await self._deliver(doc, contact)

        try:
            await asyncio.gather(*(one(doc, contact) for doc, contact in items))
        finally:
            await self._record_accepted()

    async def _record_accepted(self) -> None:
        accepted, self._accepted = self._accepted, []
        await self.messages.record_sent(accepted, now=self.clock())

    async def send_ids(self, message_ids: list[str]) -> int:
        """Claim each message (skipping what another worker holds or has finished) and send what was claimed."""
        claimed = await self.messages.claim_many(list(dict.fromkeys(message_ids)), now=self.clock(),
                                                 lease_s=self.lease_s)
        if not claimed:
            return 0
        for doc in claimed:
            if doc["attempts"] > 1 and doc["history"][-2]["state"] == State.SENDING.value:
                log.warning("notification_lease_expired", message_id=doc["_id"], attempts=doc["attempts"])
        keys = list(dict.fromkeys((d["recipient"]["kind"], d["recipient"]["id"]) for d in claimed))
        reaches = await self.directory.reach(keys, with_prefs=False)
        await self.send_claimed([(d, reaches[(d["recipient"]["kind"], d["recipient"]["id"])].contact)
                                 for d in claimed])
        return len(claimed)

    async def _deliver(self, doc: dict[str, Any], contact: ContactPoints | None) -> None:
        channel = Channel(doc["channel"])
        sender = self.channels.get(channel)
        if contact is None:
            await self._fail(doc, State.PERMANENT_FAILURE, DeliveryError(Reason.RECIPIENT_NOT_FOUND, transient=False))
            return
        if sender is None:
            await self._fail(doc, State.PERMANENT_FAILURE, DeliveryError(
                Reason.NO_CHANNEL, transient=False, detail=f"channel {channel.value} is not configured"))
            return
        try:
            accepted = await sender.send(doc, contact)
        except DeliveryError as exc:
            if exc.transient:
                await self._transient(doc, exc)
            else:
                await self._fail(doc, State.PERMANENT_FAILURE, exc)
            return
        except Exception as exc:  # a bug, not the provider: record it, keep the worker going
            log.exception("notification_send_crashed", message_id=doc["_id"], channel=channel.value)
            await self._fail(doc, State.TECHNICAL_FAILURE, DeliveryError(
                Reason.REJECTED, transient=False, code="INTERNAL", detail=type(exc).__name__))
            return
        self._accepted.append((doc["_id"], accepted.provider, accepted.ref, accepted.delivered))
        if len(self._accepted) >= RECORD_EVERY:
            await self._record_accepted()
        log.info("notification_sent", message_id=doc["_id"], topic=doc["topic"], channel=channel.value,
                 provider=accepted.provider, attempt=doc["attempts"], delivered=accepted.delivered)

    async def _transient(self, doc: dict[str, Any], exc: DeliveryError) -> None:
        delay = self.policy.delay(doc["attempts"])
        if delay is None:
            await self._fail(doc, State.TECHNICAL_FAILURE, exc)
            return
        now = self.clock()
        moved = await self.messages.record_retry(doc["_id"], due_at=now + timedelta(seconds=delay),
                                                 reason=exc.reason.value, code=exc.code, detail=exc.detail, now=now)
        log.warning("notification_retry", message_id=doc["_id"], channel=doc["channel"], provider=exc.provider,
                    code=exc.code, attempt=doc["attempts"], delay_s=round(delay, 2))
        if moved:
            await self.publish([doc["_id"]], doc["queue"], delay)

    async def _fail(self, doc: dict[str, Any], state: State, exc: DeliveryError) -> None:
        moved = await self.messages.record_failure(doc["_id"], state, reason=exc.reason.value, code=exc.code,
                                                   detail=exc.detail, provider=exc.provider or None, now=self.clock())
        log.warning("notification_failed", message_id=doc["_id"], channel=doc["channel"], state=state.value,
                    reason=exc.reason.value, code=exc.code, provider=exc.provider)
        if moved and Channel(doc["channel"]) in WECHAT and (state is State.TECHNICAL_FAILURE
                                                            or exc.reason in FALLBACK_REASONS):
            await self._fall_back(doc)

    async def _fall_back(self, doc: dict[str, Any]) -> None:
        if not doc.get("fallback"):
            return
        now = self.clock()
        following, rest = doc["fallback"][0], doc["fallback"][1:]
        event = {"_id": doc["event_id"], "topic": doc["topic"], "created_at": doc.get("event_created_at")}
        key = (doc["recipient"]["kind"], doc["recipient"]["id"])
        fresh = message_doc(event, key, Channel(following["channel"]), state=State.SENDING, now=now, due=now,
                            queue=doc["queue"], urgent=doc["urgent"], template_ref=doc["template"],
                            lease_s=self.lease_s, content=following["content"], fallback=rest,
                            fallback_of=doc["_id"])
        if not await self.messages.insert_new([fresh]):
            return  # made already (this ran before): it goes its own way
        log.info("notification_fallback", message_id=fresh["_id"], fallback_of=doc["_id"],
                 channel=following["channel"])
        reaches = await self.directory.reach([key], with_prefs=False)
        await self._deliver(fresh, reaches[key].contact)
