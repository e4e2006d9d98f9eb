"""SMS tasks: send a login code through the SMS channel, with bounded retries.

The worker decrypts the phone and the code (FieldCipher tokens, see sms_contract.py), sends through the
provider adapter and retries only temporary failures, with exponential backoff and full jitter, at most
MAX_RETRIES times and never past the code's own expiry (a late code is worse than none: the person has already
asked for another). Permanent failures are logged, masked, and dropped.
"""

from __future__ import annotations

import time
from functools import lru_cache

import structlog
from celery import Task
from celery.utils.time import get_exponential_backoff_interval

from config.pii import pii_from_settings
from config.settings import get_settings
from core.masking import mask_phone
from core.pii import FieldCipher, PiiDecryptError
from notifications.celery_app import app
from notifications.channels.aliyun_sms import AliyunSms
from notifications.channels.sms import LOGIN_CODE, SmsMessage, SmsPermanentError, SmsSender, SmsTemporaryError
from notifications.sms_contract import CODE_CONTEXT, PHONE_CONTEXT, QUEUE, SEND_LOGIN_CODE

log = structlog.get_logger(__name__)

MAX_RETRIES = 3
BACKOFF_FACTOR_S = 2  # retry n waits a random 0 … 2·2^n seconds (full jitter), capped below
BACKOFF_MAX_S = 30


@lru_cache(maxsize=1)
def sms_sender() -> SmsSender:
    """The worker's SMS provider. Failover to a second provider wraps a list of senders here."""
    return AliyunSms.from_settings(get_settings())


@lru_cache(maxsize=1)
def cipher() -> FieldCipher:
    return pii_from_settings(get_settings())[0]


def retry_delay(retries: int, expires_at: float | None, now: float) -> float | None:
    """Seconds until the next try, or None when no try is left (count used up, or the code expires first)."""
    if retries >= MAX_RETRIES:
        return None
    delay = float(get_exponential_backoff_interval(BACKOFF_FACTOR_S, retries, BACKOFF_MAX_S, full_jitter=True))
    if expires_at is not None and now + delay >= expires_at:
        return None
    return delay


@app.task(bind=True, name=SEND_LOGIN_CODE, ignore_result=True, max_retries=MAX_RETRIES, queue=QUEUE)
def send_login_code(self: Task, phone_token: str, code_token: str, purpose: str,
                    expires_at: float | None = None) -> None:
    try:
        phone = cipher().decrypt(phone_token, context=PHONE_CONTEXT)
        code = cipher().decrypt(code_token, context=CODE_CONTEXT)
    except PiiDecryptError as exc:  # a key removed too early, or a forged message: nothing to retry
        log.error("sms_code_undecryptable", purpose=purpose, reason=str(exc))
        return
    masked = mask_phone(phone)
    if expires_at is not None and time.time() >= expires_at:
        log.warning("sms_code_expired_before_sending", phone=masked, purpose=purpose)
        return
    message = SmsMessage(phone, LOGIN_CODE, {"code": code}, reference=self.request.id)
    try:
        result = sms_sender().send(message)
    except SmsPermanentError as exc:
        log.error("sms_code_not_sent", phone=masked, purpose=purpose, provider=exc.provider, code=exc.code,
                  message=exc.message, request_id=exc.request_id)
        return
    except SmsTemporaryError as exc:
        delay = retry_delay(self.request.retries, expires_at, time.time())
        fields = {"phone": masked, "purpose": purpose, "provider": exc.provider, "code": exc.code,
                  "attempt": self.request.retries + 1}
        if delay is None:
            log.error("sms_code_gave_up", **fields)
            return
        log.warning("sms_code_retry", delay_s=round(delay, 2), **fields)
        raise self.retry(countdown=delay, exc=exc) from None
    log.info("sms_code_sent", phone=masked, purpose=purpose, provider=result.provider, biz_id=result.biz_id,
             attempt=self.request.retries + 1)
