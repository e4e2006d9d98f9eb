"""Helpers for the notification pipeline's tests: the relay as a real process, events recorded through the real
outbox, people reachable by phone or WeChat, and waiting for messages to reach a final state."""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pymongo.asynchronous.database import AsyncDatabase

from accounts.events import AccountEventRepository
from accounts.people import PersonRepository
from accounts.phone_accounts import PhoneAccounts
from config.pii import pii_from_settings
from config.settings import Settings
from core.ids import new_id
from core.outbox import OutboxEvent, OutboxRepository, Recipient
from notifications.messages import MessageRepository
from notifications.states import FINAL, State

T = TypeVar("T")

# What every test process (in-process settings and child processes) runs the pipeline with: no quiet hours
# (a suite started at 23:00 would otherwise wait for the morning), fast retries, short leases and requeues.
NOTIFY_TEST_ENV = {
    "ZSB_NOTIFY_QUIET_HOURS": "", "ZSB_NOTIFY_RETRY_BASE_S": "0.2", "ZSB_NOTIFY_RETRY_MAX_S": "1.0",
    "ZSB_NOTIFY_MAX_ATTEMPTS": "5", "ZSB_NOTIFY_LEASE_S": "4", "ZSB_NOTIFY_REQUEUE_AFTER_S": "3",
    "ZSB_NOTIFY_SWEEP_INTERVAL_S": "1", "ZSB_NOTIFY_RELAY_POLL_S": "0.5",
}
NOTIFY_TEST_SETTINGS = {key.removeprefix("ZSB_").lower(): value for key, value in NOTIFY_TEST_ENV.items()}
SETTLED = {s.value for s in FINAL} | {State.SENT.value}  # sent: the provider took it (a report may follow)


@dataclass
class PipelineProcess:
    """The relay (`python -m notifications.relay`) or Celery beat in a subprocess on the test's servers."""

    process: subprocess.Popen[bytes]
    log_path: Path

    @classmethod
    def relay(cls, env: dict[str, str], log_path: Path) -> PipelineProcess:
        return cls._start([sys.executable, "-m", "notifications.relay"], env, log_path)

    @classmethod
    def beat(cls, env: dict[str, str], log_path: Path) -> PipelineProcess:
        schedule = log_path.with_suffix(".schedule")
        return cls._start([sys.executable, "-m", "celery", "-A", "notifications.celery_app", "beat", "--loglevel",
                           "INFO", "--schedule", str(schedule)], env, log_path)

    @classmethod
    def _start(cls, argv: list[str], env: dict[str, str], log_path: Path) -> PipelineProcess:
        with log_path.open("ab") as log:
            process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        return cls(process, log_path)

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


def random_mobile() -> str:
    return f"+86137{secrets.randbelow(10**8):08d}"


async def person_with_phone(db: AsyncDatabase[dict[str, Any]], settings: Settings, phone: str | None = None
                            ) -> tuple[str, str]:
    """A person who proved a phone (as SMS login leaves them): (person id, phone)."""
    cipher, index = pii_from_settings(settings)
    phone = phone or random_mobile()
    person, _ = await PhoneAccounts(PersonRepository(db), AccountEventRepository(db), cipher, index
                                    ).find_or_create(phone)
    return person.id, phone


async def person_with_wechat(db: AsyncDatabase[dict[str, Any]], *, app: str = "mp",
                             openid: str | None = None) -> tuple[str, str]:
    """A person who signed in with WeChat only (no phone): (person id, openid)."""
    openid = openid or "o" + secrets.token_hex(12)
    person, _ = await PersonRepository(db).upsert_wechat(app=app, openid=openid, unionid=None)
    return person.id, openid


async def record_event(db: AsyncDatabase[dict[str, Any]], topic: str, recipients: list[tuple[str, str]],
                       data: dict[str, Any], *, urgent: bool = False, unusable: str | None = None) -> str:
    """An event recorded through the real outbox repository, as domain code does it.

    `unusable` says why a test records an event that breaks the producer/template contract on purpose (an unknown
    topic, missing values): stored as `subject.unusable`, the one marker the session's contract scan skips
    (tests/e2e/test_zz_notify_contract.py); every other event must render."""
    subject = {"kind": "test", "id": new_id(), **({"unusable": unusable} if unusable else {})}
    event = OutboxEvent(topic=topic, key=f"test:{new_id()}", recipients=tuple(Recipient(k, i) for k, i in recipients),
                        data=data, subject=subject, urgent=urgent)
    event_id = await OutboxRepository(db).add(event)
    assert event_id is not None
    return event_id


async def eventually(probe: Callable[[], Awaitable[T | None]], *, within_s: float = 30, what: str = "",
                     every_s: float = 0.1) -> T:
    """The first truthy result of `probe`, polled until `within_s` runs out (then AssertionError naming `what`)."""
    deadline = time.monotonic() + within_s
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within_s}s: {what}")
        await asyncio.sleep(every_s)


async def settled_messages(db: AsyncDatabase[dict[str, Any]], event_id: str, *, count: int = 1,
                           within_s: float = 30, states: set[str] | None = None) -> list[dict[str, Any]]:
    """The event's messages once at least `count` exist and every one is in `states` (default: settled)."""
    wanted = states or SETTLED
    repo = MessageRepository(db)

    async def probe() -> list[dict[str, Any]] | None:
        docs = await repo.for_event(event_id)
        return docs if len(docs) >= count and all(d["state"] in wanted for d in docs) else None

    return await eventually(probe, within_s=within_s, what=f"{count} settled message(s) of event {event_id}")
