"""The login-code service against the session's Redis and broker: one-time use, bounded tries, expiry, resend
cooldown, daily limits per phone and per IP, and nothing in clear in Redis.

Codes are published to a queue of their own that no worker consumes, so each test reads the task it queued,
decrypts the code from it (as the worker would) and proves the raw message holds neither phone nor code.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from accounts.sms_codes import SmsCodes
from config.pii import pii_from_settings
from config.settings import Settings
from config.wiring import Dependencies
from core.errors import AppError
from devstack.servers import LocalStack
from notifications.celery_app import create_celery
from notifications.publisher import TaskPublisher
from notifications.sms_contract import CODE_CONTEXT, PHONE_CONTEXT, SEND_LOGIN_CODE
from tests.conftest import settings_for
from tests.support.sms import lift_cooldown, random_phone


@dataclass
class Queued:
    raw: bytes
    task: str
    phone: str
    code: str
    purpose: str
    kwargs: dict[str, Any]


class Harness:
    def __init__(self, deps: Dependencies, settings: Settings, **options: Any) -> None:
        self.deps, self.settings = deps, settings
        self.queue = "test-sms-" + secrets.token_hex(4)
        self.cipher = pii_from_settings(settings)[0]
        self.codes = SmsCodes(deps.redis, deps.tasks, self.cipher, settings.sms_code_key.get_secret_value().encode(),
                              queue=self.queue, redis_url=settings.redis_url, **options)

    async def queued(self) -> list[Queued]:
        """Every task message waiting in our queue, oldest first, decrypted as the worker would."""
        out = []
        for raw in reversed(await self.deps.redis.lrange(self.queue, 0, -1)):
            envelope = json.loads(raw)
            args, kwargs, _ = json.loads(base64.b64decode(envelope["body"]))
            phone_token, code_token, purpose = args
            out.append(Queued(raw, envelope["headers"]["task"], self.cipher.decrypt(phone_token, context=PHONE_CONTEXT),
                              self.cipher.decrypt(code_token, context=CODE_CONTEXT), purpose, kwargs))
        return out

    async def issue_and_read(self, phone: str, purpose: str = "login", ip: str | None = None) -> str:
        await self.codes.issue(phone, purpose=purpose, ip=ip)
        return (await self.queued())[-1].code

    async def error_of(self, call: Any) -> AppError:
        with pytest.raises(AppError) as caught:
            await call
        return caught.value


@pytest.fixture
async def harness(deps: Dependencies, settings: Settings) -> AsyncIterator[Harness]:
    h = Harness(deps, settings)
    yield h
    await deps.redis.delete(h.queue)


async def test_a_code_verifies_once(harness: Harness) -> None:
    phone = random_phone()
    result = await harness.codes.issue(phone, purpose="login", ip="203.0.113.7")
    assert (result.resend_after_s, result.expires_in_s) == (60, 300)
    [queued] = await harness.queued()
    assert (queued.task, queued.phone, queued.purpose) == (SEND_LOGIN_CODE, phone, "login")
    assert len(queued.code) == 6 and queued.code.isdigit()
    assert queued.kwargs["expires_at"] > 0
    await harness.codes.verify(phone, purpose="login", code=queued.code)
    again = await harness.error_of(harness.codes.verify(phone, purpose="login", code=queued.code))
    assert again.error.code == "SMS_CODE_EXPIRED"  # one-time


async def test_neither_phone_nor_code_is_in_clear_in_redis(harness: Harness) -> None:
    phone = random_phone()
    await harness.codes.issue(phone, purpose="login", ip="203.0.113.8")
    [queued] = await harness.queued()
    envelope = json.loads(queued.raw)
    body = base64.b64decode(envelope["body"])
    national = phone.removeprefix("+86")
    for blob in (queued.raw, body):
        assert national.encode() not in blob and queued.code.encode() not in blob
    everything = b""
    async for key in harness.deps.redis.scan_iter(match="zsb:*"):
        everything += key
        if await harness.deps.redis.type(key) == b"hash":
            everything += b"".join(k + v for k, v in (await harness.deps.redis.hgetall(key)).items())
    assert national.encode() not in everything and b"203.0.113.8" not in everything
    assert queued.code.encode() not in everything


async def test_five_wrong_tries_burn_the_code(harness: Harness) -> None:
    phone = random_phone()
    code = await harness.issue_and_read(phone)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    remaining = []
    for _ in range(4):
        error = await harness.error_of(harness.codes.verify(phone, purpose="login", code=wrong))
        assert error.error.code == "SMS_CODE_INVALID"
        remaining.append(error.extra["remaining_tries"])
    assert remaining == [4, 3, 2, 1]
    fifth = await harness.error_of(harness.codes.verify(phone, purpose="login", code=wrong))
    assert fifth.error.code == "SMS_CODE_TOO_MANY_TRIES"
    burned = await harness.error_of(harness.codes.verify(phone, purpose="login", code=code))
    assert burned.error.code == "SMS_CODE_EXPIRED"


async def test_malformed_input_does_not_use_a_try_and_full_width_digits_work(harness: Harness) -> None:
    phone = random_phone()
    code = await harness.issue_and_read(phone)
    for typo in ("12345", "abcdef", "1234567"):
        error = await harness.error_of(harness.codes.verify(phone, purpose="login", code=typo))
        assert error.error.code == "SMS_CODE_INVALID" and error.errors[0].errcode == "SMS_CODE_FORMAT"
    full_width = code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    await harness.codes.verify(phone, purpose="login", code=f" {full_width} ")


async def test_a_code_is_bound_to_its_purpose_and_phone(harness: Harness) -> None:
    phone, other = random_phone(), random_phone()
    code = await harness.issue_and_read(phone, purpose="login")
    assert (await harness.error_of(harness.codes.verify(phone, purpose="bind_phone", code=code))).error.code \
        == "SMS_CODE_EXPIRED"
    assert (await harness.error_of(harness.codes.verify(other, purpose="login", code=code))).error.code \
        == "SMS_CODE_EXPIRED"
    with pytest.raises(ValueError, match="unknown SMS code purpose"):
        await harness.codes.verify(phone, purpose="payment", code=code)
    await harness.codes.verify(phone, purpose="login", code=code)


async def test_codes_expire(deps: Dependencies, settings: Settings) -> None:
    h = Harness(deps, settings, ttl_s=1)
    try:
        phone = random_phone()
        code = await h.issue_and_read(phone)
        await asyncio.sleep(1.2)
        assert (await h.error_of(h.codes.verify(phone, purpose="login", code=code))).error.code == "SMS_CODE_EXPIRED"
    finally:
        await deps.redis.delete(h.queue)


async def test_resend_waits_60_seconds_and_replaces_the_code(harness: Harness) -> None:
    phone = random_phone()
    first = await harness.issue_and_read(phone)
    too_soon = await harness.error_of(harness.codes.issue(phone, purpose="login", ip=None))
    assert too_soon.error.code == "SMS_RESEND_TOO_SOON" and too_soon.status == 429
    assert 55 <= int(too_soon.headers["Retry-After"]) <= 60
    # the cooldown is per phone, whatever the purpose
    other_purpose = await harness.error_of(harness.codes.issue(phone, purpose="bind_phone", ip=None))
    assert other_purpose.error.code == "SMS_RESEND_TOO_SOON"
    await lift_cooldown(harness.deps.redis, harness.settings, phone)
    second = await harness.issue_and_read(phone)
    if second != first:  # one in a million they are equal
        assert (await harness.error_of(harness.codes.verify(phone, purpose="login", code=first))).error.code \
            == "SMS_CODE_INVALID"
    await harness.codes.verify(phone, purpose="login", code=second)


async def test_daily_limit_per_phone(deps: Dependencies, settings: Settings) -> None:
    h = Harness(deps, settings, per_phone_per_day=3)
    try:
        phone = random_phone()
        for _ in range(3):
            await h.codes.issue(phone, purpose="login", ip=None)
            await lift_cooldown(deps.redis, settings, phone)
        for _ in range(2):  # the limit stays the answer: no resend cooldown hides it
            limited = await h.error_of(h.codes.issue(phone, purpose="login", ip=None))
            assert limited.error.code == "SMS_DAILY_LIMIT" and limited.status == 429
        assert 86_000 < int(limited.headers["Retry-After"]) <= 86_400  # a rolling day from the first code
        assert len(await h.queued()) == 3
    finally:
        await deps.redis.delete(h.queue)


async def test_daily_limit_per_ip(deps: Dependencies, settings: Settings) -> None:
    h = Harness(deps, settings, per_ip_per_day=2)
    try:
        ip = f"198.51.100.{secrets.randbelow(250) + 1}"
        for _ in range(2):
            await h.codes.issue(random_phone(), purpose="login", ip=ip)
        limited = await h.error_of(h.codes.issue(random_phone(), purpose="login", ip=ip))
        assert limited.error.code == "SMS_DAILY_LIMIT"
        await h.codes.issue(random_phone(), purpose="login", ip="198.51.100.251")  # another address
        await h.codes.issue(random_phone(), purpose="login", ip=None)  # internal callers: no IP limit
        assert len(await h.queued()) == 4
    finally:
        await deps.redis.delete(h.queue)


async def test_broker_down_is_503_and_lets_the_person_ask_again(deps: Dependencies, settings: Settings,
                                                                  stack: LocalStack) -> None:
    dead = TaskPublisher(create_celery(settings_for(stack, redis_url="redis://127.0.0.1:1/0")))
    codes = SmsCodes(deps.redis, dead, pii_from_settings(settings)[0], b"k" * 32, redis_url=settings.redis_url)
    try:
        phone = random_phone()
        for _ in range(2):  # no cooldown left behind: the second attempt is not "too soon"
            with pytest.raises(AppError) as caught:
                await codes.issue(phone, purpose="login", ip=None)
            assert caught.value.error.code == "SMS_UNAVAILABLE" and caught.value.status == 503
    finally:
        dead.close()
