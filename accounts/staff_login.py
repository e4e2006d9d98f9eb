"""Staff login: password, then an SMS code to the staff member's own mobile (second factor), then tokens.

Step 1 (`start`) checks username and password. Every refusal is the same generic STAFF_LOGIN_FAILED, and an
unknown username costs the same argon2 time as a real one (verified against a dummy hash) and is locked out
the same way after the same number of failures (counted in Redis), so neither the answer nor its timing nor
the lockout reveals which usernames exist. Five wrong passwords lock a real account for 15 minutes (counted on
its document; a correct password resets the count, a locked account does not even check the password). A
correct password sends an SMS code (`SmsCodes`, purpose `staff_2fa`) and returns a login *ticket*: 32 random
bytes, stored in Redis only as its SHA-256, bound to the account, valid 5 minutes, good for 5 code attempts
and used once.

Step 2 (`verify`) takes the ticket and the code; only then is a login session started. The access token's
subject is the staff account id and its roles are the staff roles, which is how `Principal.is_staff` tells a
staff token from a resident's. Staff refresh through `refresh` (never the residents' endpoint).

Every staff login, this one and the WeChat one (accounts/staff_wechat.py), goes through `open_session`: the
session records how it was proven (`auth_method`: PASSWORD_SMS here) and the login is written to the staff audit
trail.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn, Protocol

import redis.asyncio as aioredis
import structlog

from accounts import errors as AE
from accounts.passwords import Passwords
from accounts.sessions import LoginSessions, RefreshGrant
from accounts.staff import PHONE_CONTEXT, StaffAccount, StaffRepository, normalise_username
from accounts.staff_audit import StaffAuditRepository
from accounts.tokens import AccessTokenService
from core.errors import AppError
from core.pii import FieldCipher

log = structlog.get_logger(__name__)

SMS_PURPOSE = "staff_2fa"
PASSWORD_SMS = "password_sms"  # noqa: S105 - the session's auth_method after password + SMS, not a secret
LOCK_AFTER_FAILURES = 5
LOCK_FOR = timedelta(minutes=15)
TICKET_TTL_S = 300
TICKET_MAX_TRIES = 5
DEFAULT_RESEND_AFTER_S = 60
_TICKET_RE = re.compile(r"[A-Za-z0-9_-]{43}")
# Atomic "count one try if the ticket still exists": a plain HINCRBY would resurrect an expired ticket
# as a key without TTL.
_TRY_TICKET = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local tries = redis.call('HINCRBY', KEYS[1], 'tries', 1)
return {redis.call('HGET', KEYS[1], 'staff_id'), tries}
"""


class SecondFactorCodes(Protocol):
    """What staff login needs from `accounts.sms_codes.SmsCodes` (which raises AppError on every refusal)."""

    async def issue(self, phone_e164: str, *, purpose: str, ip: str | None) -> Any: ...

    async def verify(self, phone_e164: str, *, purpose: str, code: str) -> Any: ...


@dataclass(frozen=True, slots=True)
class StaffChallenge:
    ticket: str
    phone_masked: str
    resend_after_s: int
    expires_in: int


@dataclass(frozen=True, slots=True)
class StaffLoginResult:
    account: StaffAccount
    access_token: str
    expires_in: int
    grant: RefreshGrant


def ticket_key(ticket: str) -> str:
    return "zsb:staff-login:ticket:" + hashlib.sha256(ticket.encode("ascii")).hexdigest()


def _unknown_key(username: str, what: str) -> str:
    return f"zsb:staff-login:unknown-{what}:" + hashlib.sha256(username.encode("utf-8")).hexdigest()


@dataclass
class StaffLogin:
    staff: StaffRepository
    audit: StaffAuditRepository
    passwords: Passwords
    codes: SecondFactorCodes
    sessions: LoginSessions
    tokens: AccessTokenService
    cipher: FieldCipher
    redis: aioredis.Redis

    # -- step 1 ----------------------------------------------------------------------------------------------
    async def start(self, username: str, password: str, *, ip: str | None) -> StaffChallenge:
        name = normalise_username(username)
        credentials = await self.staff.credentials(name)
        if credentials is None:
            await self._refuse_unknown(name, password)
        account, now = credentials.account, datetime.now(UTC)
        if credentials.locked_until is not None and credentials.locked_until > now:
            raise locked_error(credentials.locked_until - now)
        if not await self.passwords.verify(credentials.password_hash, password):
            await self.refuse_password(account.id, AppError(AE.STAFF_LOGIN_FAILED), ip=ip)
        rehashed = None
        if self.passwords.needs_rehash(credentials.password_hash):
            rehashed = await self.passwords.hash(password)
        await self.staff.record_password_login(account.id, rehashed=rehashed)
        if account.disabled:
            raise AppError(AE.ACCOUNT_DISABLED)
        issued = await self.codes.issue(await self._phone(account), purpose=SMS_PURPOSE, ip=ip)
        ticket = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode("ascii")
        key = ticket_key(ticket)
        async with self.redis.pipeline(transaction=True) as pipe:
            await pipe.hset(key, mapping={"staff_id": account.id, "tries": 0}).expire(key, TICKET_TTL_S).execute()
        log.info("staff_password_ok", staff_id=account.id, rehashed=rehashed is not None)
        resend = int(getattr(issued, "resend_after_s", None) or DEFAULT_RESEND_AFTER_S)
        return StaffChallenge(ticket, account.phone_masked, resend, TICKET_TTL_S)

    async def refuse_password(self, staff_id: str, refusal: AppError, *, ip: str | None) -> NoReturn:
        """A wrong password for a real account (at login or when changing it): count it, and lock the account
        (audited) at LOCK_AFTER_FAILURES; otherwise raise `refusal`."""
        if await self.staff.record_failed_login(staff_id, lock_after=LOCK_AFTER_FAILURES,
                                                lock_until=datetime.now(UTC) + LOCK_FOR):
            await self.audit.record("staff_locked_out", target_staff_id=staff_id, actor_staff_id=None,
                                    request_ip=ip, details={"failures": LOCK_AFTER_FAILURES})
            log.warning("staff_locked_out", staff_id=staff_id)
            raise locked_error(LOCK_FOR)
        raise refusal

    async def _refuse_unknown(self, name: str, password: str) -> NoReturn:
        """No such username: behave like a real account (same argon2 time, same lockout), then refuse."""
        lock_key, count_key = _unknown_key(name, "lock"), _unknown_key(name, "failures")
        ttl = await self.redis.ttl(lock_key)
        if ttl and ttl > 0:
            raise locked_error(timedelta(seconds=ttl))
        await self.passwords.verify_dummy(password)
        async with self.redis.pipeline(transaction=True) as pipe:
            failures, _ = await pipe.incr(count_key).expire(count_key, 86400).execute()
        if failures >= LOCK_AFTER_FAILURES:
            await self.redis.delete(count_key)
            await self.redis.set(lock_key, "1", ex=int(LOCK_FOR.total_seconds()))
            raise locked_error(LOCK_FOR)
        raise AppError(AE.STAFF_LOGIN_FAILED)

    async def _phone(self, account: StaffAccount) -> str:
        cipher = await self.staff.phone_cipher(account.id)
        if cipher is None:
            raise AppError(AE.ACCOUNT_DISABLED)
        return self.cipher.decrypt(cipher, context=PHONE_CONTEXT)

    # -- step 2 ----------------------------------------------------------------------------------------------
    async def verify(self, ticket: str, code: str, *, device: str, ip: str | None) -> StaffLoginResult:
        if not isinstance(ticket, str) or not _TICKET_RE.fullmatch(ticket):
            raise AppError(AE.STAFF_LOGIN_TICKET_INVALID)
        key = ticket_key(ticket)
        counted = await self.redis.eval(_TRY_TICKET, 1, key)
        if not counted:
            raise AppError(AE.STAFF_LOGIN_TICKET_INVALID)
        staff_id, tries = counted[0].decode(), int(counted[1])
        if tries > TICKET_MAX_TRIES:
            await self.redis.delete(key)
            raise AppError(AE.STAFF_LOGIN_TICKET_INVALID)
        account = await self.staff.get(staff_id)
        if account is None or account.disabled:
            await self.redis.delete(key)
            raise AppError(AE.ACCOUNT_DISABLED)
        await self.codes.verify(await self._phone(account), purpose=SMS_PURPOSE, code=code)
        if await self.redis.delete(key) != 1:
            raise AppError(AE.STAFF_LOGIN_TICKET_INVALID)  # a concurrent verify with the same ticket won
        return await self.open_session(account, device=device, ip=ip, auth_method=PASSWORD_SMS)

    async def open_session(self, account: StaffAccount, *, device: str, ip: str | None,
                           auth_method: str) -> StaffLoginResult:
        """Start a staff session for an account whose login was just proven by `auth_method`; shared by every
        staff login so each one is recorded, audited and raced against disabling the same way."""
        grant = await self.sessions.start(account.id, device=device, ip=ip, kind="staff", auth_method=auth_method)
        current = await self.staff.get(account.id)
        if current is None or current.disabled:  # disabled while signing in: its logout-everywhere ran before us
            await self.sessions.logout(grant.session_id)
            raise AppError(AE.ACCOUNT_DISABLED)
        await self.staff.record_login(account.id)
        await self.audit.record("staff_login", target_staff_id=account.id, actor_staff_id=account.id, request_ip=ip,
                                details={"auth_method": auth_method, "session_id": grant.session_id})
        log.info("staff_login", staff_id=account.id, session_id=grant.session_id, auth_method=auth_method)
        return self._result(current, grant)

    # -- refresh -----------------------------------------------------------------------------------------------
    async def refresh(self, refresh_token: str) -> StaffLoginResult:
        """Rotate a staff session's refresh token. A resident's refresh token is refused untouched
        (TOKEN_INVALID, the session kind differs), so using the wrong endpoint never burns a resident's session."""
        grant = await self.sessions.refresh(refresh_token, kind="staff")
        account = await self.staff.get(grant.person_id)
        if account is None or account.disabled:
            await self.sessions.logout(grant.session_id)
            raise AppError(AE.ACCOUNT_DISABLED)
        return self._result(account, grant)

    def _result(self, account: StaffAccount, grant: RefreshGrant) -> StaffLoginResult:
        token = self.tokens.issue_access_token(account.id, account.roles, grant.session_id)
        return StaffLoginResult(account, token, int(self.tokens.ttl.total_seconds()), grant)


def locked_error(remaining: timedelta) -> AppError:
    """429 STAFF_LOGIN_LOCKED with Retry-After: the one answer for a locked account, whichever way it logs in."""
    seconds = max(1, int(remaining.total_seconds()))
    return AppError(AE.STAFF_LOGIN_LOCKED, headers={"Retry-After": str(seconds)})
