"""The notification pipeline inside a Celery worker process: one event loop and one set of clients per process.

Notification tasks are many and short, so unlike the xlsx import (affairs/import_tasks.py: a fresh loop and
client per task) each worker process keeps one asyncio loop and its clients (MongoDB, Redis for the shared
WeChat token, WeChat's HTTP client) for its whole life, created on the first task after the fork (prefork
children must not share the parent's sockets) and reused by every task after it. Blocking SMS SDK calls run
in this process's thread pool, so several sends of one task are in flight together.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import redis.asyncio as aioredis
from celery import Celery

from accounts.people import PersonRepository
from accounts.staff import StaffRepository
from config.pii import pii_from_settings
from config.settings import Settings
from config.wiring import mongo_client
from core.outbox import OutboxRepository
from notifications.channels.aliyun_sms import AliyunSms
from notifications.channels.delivery_port import ChannelSender
from notifications.channels.sms import SmsSender
from notifications.channels.sms_channel import SmsChannel
from notifications.channels.sms_failover import FailoverSms
from notifications.channels.tencent_sms import TencentSms, TencentTemplate
from notifications.channels.wechat_channels import SubscribeChannel, TemplateChannel
from notifications.contract import SEND_CHUNK, SEND_MESSAGES
from notifications.delivery import Delivery
from notifications.fanout import FanOut
from notifications.grants import GrantRepository
from notifications.inbox import InboxRepository
from notifications.messages import MessageRepository
from notifications.preferences import PreferenceRepository
from notifications.quiet_hours import QuietHours
from notifications.recipients import Directory
from notifications.retry_policy import RetryPolicy
from notifications.states import Channel
from notifications.sweeps import Sweeper
from notifications.templates import TemplateBook, default_book
from wechat import WeChatClients

T = TypeVar("T")


def sms_sender(settings: Settings, book: TemplateBook) -> SmsSender:
    """The providers of ZSB_NOTIFY_SMS_PROVIDERS in failover order, each knowing the notification templates."""
    senders: list[SmsSender] = []
    for name in settings.notify_sms_providers.split(","):
        if name == "aliyun":
            senders.append(AliyunSms.from_settings(settings, templates=book.sms_codes("aliyun")))
        elif name == "tencent":
            templates = {t.topic: TencentTemplate(t.sms.tencent, tuple(t.sms.params))
                         for t in book.all_latest() if t.sms is not None}
            senders.append(TencentSms.from_settings(settings, templates=templates))
        else:
            raise ValueError(f"unknown SMS provider {name!r} in ZSB_NOTIFY_SMS_PROVIDERS (aliyun, tencent)")
    return senders[0] if len(senders) == 1 else FailoverSms(senders)


@dataclass
class Pipeline:
    fanout: FanOut
    delivery: Delivery
    sweeper: Sweeper
    outbox: OutboxRepository


class Runtime:
    def __init__(self, settings: Settings, celery: Celery) -> None:
        self.settings, self.celery = settings, celery
        self.loop = asyncio.new_event_loop()
        self.executor = ThreadPoolExecutor(max_workers=settings.notify_send_concurrency, thread_name_prefix="notify")
        self.loop.set_default_executor(self.executor)
        self.pipeline: Pipeline = self.loop.run_until_complete(self._build())

    async def _build(self) -> Pipeline:
        settings, book = self.settings, default_book()
        self.mongo = mongo_client(settings)
        self.redis = aioredis.Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=5)
        self.wechat = WeChatClients.from_settings(settings, self.redis)
        db = self.mongo[settings.mongodb_db]
        cipher, _ = pii_from_settings(settings)
        messages, grants = MessageRepository(db), GrantRepository(db)
        directory = Directory(PersonRepository(db), StaffRepository(db), PreferenceRepository(db))
        channels: dict[Channel, ChannelSender] = {
            Channel.SMS: SmsChannel(sms_sender(settings, book), cipher, self.executor),
            Channel.WECHAT_SUBSCRIBE: SubscribeChannel(self.wechat.subscribe, grants, messages),
            Channel.WECHAT_TEMPLATE: TemplateChannel(self.wechat.official_account, settings.wechat_mp_appid),
        }
        policy = RetryPolicy(settings.notify_retry_base_s, settings.notify_retry_max_s, settings.notify_max_attempts)
        outbox = OutboxRepository(db)
        return Pipeline(
            fanout=FanOut(messages, InboxRepository(db), directory, book,
                          quiet=QuietHours.parse(settings.notify_quiet_hours), lease_s=settings.notify_lease_s),
            delivery=Delivery(messages, directory, channels, policy, lease_s=settings.notify_lease_s,
                              publish=self.publish, concurrency=settings.notify_send_concurrency),
            sweeper=Sweeper(messages, outbox, self.publish, requeue_after_s=settings.notify_requeue_after_s,
                            unconfirmed_after_s=settings.notify_unconfirmed_after_s),
            outbox=outbox,
        )

    async def publish(self, message_ids: list[str], queue: str, countdown: float | None) -> None:
        """Queue send tasks for these messages (in chunks), after `countdown` seconds when given."""
        chunks = [message_ids[i:i + SEND_CHUNK] for i in range(0, len(message_ids), SEND_CHUNK)]
        for chunk in chunks:
            send = partial(self.celery.send_task, SEND_MESSAGES, args=[chunk], queue=queue, countdown=countdown)
            await asyncio.get_running_loop().run_in_executor(self.executor, send)

    def run(self, make: Callable[[Pipeline], Coroutine[Any, Any, T]]) -> T:
        return self.loop.run_until_complete(make(self.pipeline))


_runtime: Runtime | None = None
_pid: int | None = None


def runtime(settings: Settings, celery: Celery) -> Runtime:
    """This process's runtime, built on first use (again in a forked child: its parent's sockets are not its)."""
    global _runtime, _pid
    if _runtime is None or _pid != os.getpid():
        _runtime, _pid = Runtime(settings, celery), os.getpid()
    return _runtime
