"""One-time login codes sent by SMS: issue (rate-limited, queued to the worker) and verify (bounded tries).

Rules: a 6-digit code from `secrets`, valid CODE_TTL_S; stored in Redis only as an HMAC bound to the phone and
the purpose (a Redis dump reveals no code, and a code issued for one purpose or phone never verifies another);
compared in constant time; burned after MAX_TRIES wrong tries and on first success; a new one no sooner than
RESEND_AFTER_S per phone; daily limits per phone and per client IP with `limits` on Redis (moving window: a
rolling 24 h, so no double allowance around midnight). Redis keys name phones and IPs only by an HMAC
reference. The phone and the code reach the worker encrypted (notifications/sms_contract.py).

`issue` and `verify` are the API other flows call with their own `purpose` (login, bind_phone, staff_2fa).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
import time
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

import redis.asyncio as aioredis
import structlog
from limits import RateLimitItem, RateLimitItemPerDay
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from accounts import errors as E
from config.settings import Settings
from core.errors import AppError, FieldError
from core.masking import mask_phone
from core.pii import FieldCipher
from notifications.sms_contract import CODE_CONTEXT, PHONE_CONTEXT, QUEUE, SEND_LOGIN_CODE

if TYPE_CHECKING:
    from notifications.publisher import TaskPublisher

log = structlog.get_logger(__name__)

CODE_TTL_S = 300
RESEND_AFTER_S = 60
MAX_TRIES = 5
PURPOSES = frozenset({"login", "bind_phone", "staff_2fa"})
_CODE_RE = re.compile(r"[0-9]{6}")

# One wrong-or-right try: count it and return the stored digest, atomically; nil when there is no live code.
_ATTEMPT_LUA = """
local digest = redis.call('HGET', KEYS[1], 'd')
if not digest then return false end
return {digest, redis.call('HINCRBY', KEYS[1], 'tries', 1)}
"""


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def code_digest(key: bytes, phone_e164: str, purpose: str, code: str) -> str:
    """What Redis holds instead of the code: HMAC-SHA256 over purpose, phone and code."""
    return hmac.new(key, f"zsb-sms-code|v1|{purpose}|{phone_e164}|{code}".encode(), hashlib.sha256).hexdigest()


def codes_match(stored_digest: str, candidate_digest: str) -> bool:
    return hmac.compare_digest(stored_digest.encode(), candidate_digest.encode())


def reference(key: bytes, kind: str, value: str) -> str:
    """A stable, keyed stand-in for a phone or an IP in Redis key names (never the value itself)."""
    return hmac.new(key, f"zsb-sms-ref|{kind}|{value}".encode(), hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class IssueResult:
    resend_after_s: int
    expires_in_s: int


class SmsCodes:
    def __init__(self, redis: aioredis.Redis, tasks: TaskPublisher, cipher: FieldCipher, key: bytes, *,
                 per_phone_per_day: int = 10, per_ip_per_day: int = 50, ttl_s: int = CODE_TTL_S,
                 resend_after_s: int = RESEND_AFTER_S, max_tries: int = MAX_TRIES, queue: str = QUEUE,
                 redis_url: str = "redis://") -> None:
        self.redis, self.tasks, self.cipher, self._key = redis, tasks, cipher, key
        self.ttl_s, self.resend_after_s, self.max_tries, self.queue = ttl_s, resend_after_s, max_tries, queue
        self.per_phone: RateLimitItem = RateLimitItemPerDay(per_phone_per_day)
        self.per_ip: RateLimitItem = RateLimitItemPerDay(per_ip_per_day)
        storage = RedisStorage("async+" + redis_url, implementation="redispy",
                               connection_pool=redis.connection_pool, key_prefix="zsb:limits")
        self.limiter = MovingWindowRateLimiter(storage)
        self._attempt = redis.register_script(_ATTEMPT_LUA)

    @classmethod
    def from_settings(cls, settings: Settings, redis: aioredis.Redis, tasks: TaskPublisher,
                      cipher: FieldCipher) -> SmsCodes:
        return cls(redis, tasks, cipher, settings.sms_code_key.get_secret_value().encode(),
                   per_phone_per_day=settings.sms_daily_limit_per_phone,
                   per_ip_per_day=settings.sms_daily_limit_per_ip, redis_url=settings.redis_url)

    async def issue(self, phone_e164: str, *, purpose: str, ip: str | None) -> IssueResult:
        """Make a new code for (phone, purpose), replacing any earlier one, and queue the SMS."""
        _check_purpose(purpose)
        phone_ref = reference(self._key, "phone", phone_e164)
        cooldown = f"zsb:sms:cooldown:{phone_ref}"
        if not await self.redis.set(cooldown, b"1", nx=True, ex=self.resend_after_s):
            wait = max(int(await self.redis.ttl(cooldown)), 1)
            raise AppError(E.SMS_RESEND_TOO_SOON, errmsg=f"验证码发送太频繁，请 {wait} 秒后再试",
                           headers={"Retry-After": str(wait)}, extra={"retry_after_s": wait})
        try:
            if ip:
                await self._hit(self.per_ip, "sms-ip", reference(self._key, "ip", ip))
            await self._hit(self.per_phone, "sms-phone", phone_ref)
        except AppError:
            await self.redis.delete(cooldown)  # the limit is the answer; a cooldown would hide it
            raise

        code = new_code()
        key = self._code_key(purpose, phone_ref)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(key).hset(key, mapping={"d": code_digest(self._key, phone_e164, purpose, code), "tries": 0})
            await pipe.expire(key, self.ttl_s).execute()
        try:
            await self.tasks.send(
                SEND_LOGIN_CODE, self.cipher.encrypt(phone_e164, context=PHONE_CONTEXT),
                self.cipher.encrypt(code, context=CODE_CONTEXT), purpose, queue=self.queue,
                expires_at=time.time() + self.ttl_s,
            )
        except Exception:  # broker unreachable: no SMS will come, so let the person ask again at once
            log.exception("sms_code_not_queued", phone=mask_phone(phone_e164), purpose=purpose)
            await self.redis.delete(key, cooldown)
            raise AppError(E.SMS_UNAVAILABLE) from None
        log.info("sms_code_issued", phone=mask_phone(phone_e164), purpose=purpose)
        return IssueResult(resend_after_s=self.resend_after_s, expires_in_s=self.ttl_s)

    async def verify(self, phone_e164: str, *, purpose: str, code: str) -> None:
        """Return when `code` is the live code of (phone, purpose), consuming it; AppError otherwise."""
        _check_purpose(purpose)
        code = unicodedata.normalize("NFKC", code).strip()  # full-width digits from a Chinese IME
        if not _CODE_RE.fullmatch(code):  # cannot be right, so it does not use up a try
            raise AppError(E.SMS_CODE_INVALID, errors=[FieldError("code", "SMS_CODE_FORMAT", "验证码为 6 位数字")])
        key = self._code_key(purpose, reference(self._key, "phone", phone_e164))
        found = await self._attempt(keys=[key])
        if not found:
            raise AppError(E.SMS_CODE_EXPIRED)
        stored, tries = found[0].decode(), int(found[1])
        if codes_match(stored, code_digest(self._key, phone_e164, purpose, code)):
            if await self.redis.delete(key) == 1:  # one-time: of two concurrent correct tries, one wins
                return
            raise AppError(E.SMS_CODE_EXPIRED)
        if tries >= self.max_tries:
            await self.redis.delete(key)
            log.warning("sms_code_burned", phone=mask_phone(phone_e164), purpose=purpose)
            raise AppError(E.SMS_CODE_TOO_MANY_TRIES)
        remaining = self.max_tries - tries
        raise AppError(E.SMS_CODE_INVALID, errmsg=f"验证码错误，还可尝试 {remaining} 次",
                       extra={"remaining_tries": remaining})

    async def _hit(self, item: RateLimitItem, kind: str, ref: str) -> None:
        if await self.limiter.hit(item, kind, ref):
            return
        stats = await self.limiter.get_window_stats(item, kind, ref)
        wait = max(math.ceil(stats.reset_time - time.time()), 1)
        raise AppError(E.SMS_DAILY_LIMIT, headers={"Retry-After": str(wait)}, extra={"retry_after_s": wait})

    @staticmethod
    def _code_key(purpose: str, phone_ref: str) -> str:
        return f"zsb:sms:code:{purpose}:{phone_ref}"


def _check_purpose(purpose: str) -> None:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown SMS code purpose {purpose!r}; add it to PURPOSES")
