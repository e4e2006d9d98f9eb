"""Login and authentication: WeChat identities in, a login session and an access token out; bearer tokens back
to a `Principal` on every authenticated request.

The access token is short-lived and self-contained (roles, session id); each request also confirms the session is
still active, so "log out everywhere" takes effect at once rather than when the token expires.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from accounts import errors as E
from accounts.people import Person, PersonRepository
from accounts.phone_accounts import PhoneAccounts
from accounts.roles import is_staff_roles
from accounts.sessions import LoginSessions, RefreshGrant
from accounts.sms_codes import SmsCodes
from accounts.tokens import AccessTokenService
from core.errors import AppError
from wechat import (
    Busy,
    CodeAlreadyUsed,
    HighRiskUser,
    InvalidCode,
    OAuthStateError,
    RateLimited,
    WeChatClients,
    WeChatError,
)

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, as vouched for by a verified access token of an active session.

    `person_id` is the token's subject: a person id, or a staff account id when `is_staff` (the roles of staff
    accounts and of people are disjoint sets, see accounts/roles.py). `auth_method` is how the session began
    (staff: `password_sms` or `wechat`), for the few actions that demand the stronger one."""

    person_id: str
    roles: tuple[str, ...]
    session_id: str
    auth_method: str | None = None

    @property
    def is_staff(self) -> bool:
        return is_staff_roles(self.roles)


@dataclass(frozen=True, slots=True)
class LoginResult:
    person: Person
    access_token: str
    expires_in: int
    grant: RefreshGrant
    created: bool


@dataclass
class IdentityService:
    people: PersonRepository
    sessions: LoginSessions
    tokens: AccessTokenService
    wechat: WeChatClients
    sms_codes: SmsCodes
    phones: PhoneAccounts

    async def login_miniprogram(self, code: str, *, device: str, ip: str | None) -> LoginResult:
        try:
            session = await self.wechat.miniprogram.code2session(code)
        except WeChatError as exc:
            raise wechat_login_error(exc) from None
        person, created = await self.people.upsert_wechat(app="mp", openid=session.openid, unionid=session.unionid)
        return await self._start(person, created, device=device, ip=ip, channel="miniprogram")

    async def official_account_authorize(self, redirect_uri: str, scope: str) -> tuple[str, str]:
        request = await self.wechat.oauth.authorize_url(redirect_uri, scope=scope)
        return request.url, request.state

    async def login_official_account(self, code: str, state: str, *, device: str, ip: str | None) -> LoginResult:
        try:
            result = await self.wechat.oauth.exchange_code(code, state)
        except OAuthStateError:
            raise AppError(E.OAUTH_STATE_INVALID) from None
        except WeChatError as exc:
            raise wechat_login_error(exc) from None
        person, created = await self.people.upsert_wechat(app="oa", openid=result.openid, unionid=result.unionid)
        return await self._start(person, created, device=device, ip=ip, channel="official_account")

    async def login_sms(self, phone_e164: str, code: str, *, device: str, ip: str | None) -> LoginResult:
        """A proven phone signs in: its person, or a new L1 account (never merged into a WeChat-only one)."""
        await self.sms_codes.verify(phone_e164, purpose="login", code=code)
        person, created = await self.phones.find_or_create(phone_e164)
        return await self._start(person, created, device=device, ip=ip, channel="sms")

    async def verify_phone(self, principal_person_id: str, phone_e164: str, code: str) -> Person:
        """The signed-in person proves a phone and keeps it on their account (level at least L1); 409 if taken."""
        await self.sms_codes.verify(phone_e164, purpose="bind_phone", code=code)
        return await self.phones.attach(principal_person_id, phone_e164)

    async def refresh(self, refresh_token: str) -> LoginResult:
        grant = await self.sessions.refresh(refresh_token)
        person = await self.people.get(grant.person_id)
        if person is None or person.disabled:
            await self.sessions.logout(grant.session_id)
            raise AppError(E.ACCOUNT_DISABLED)
        return self._result(person, grant, created=False)

    async def authenticate(self, bearer: str) -> Principal:
        claims = self.tokens.verify_access_token(bearer)
        auth_method = await self.sessions.require_active(claims.session_id)  # also records the activity
        return Principal(claims.subject, claims.roles, claims.session_id, auth_method)

    async def _start(self, person: Person, created: bool, *, device: str, ip: str | None, channel: str) -> LoginResult:
        if person.disabled:
            raise AppError(E.ACCOUNT_DISABLED)
        grant = await self.sessions.start(person.id, device=device, ip=ip)
        log.info("login", person_id=person.id, channel=channel, created=created, session_id=grant.session_id)
        return self._result(person, grant, created=created)

    def _result(self, person: Person, grant: RefreshGrant, *, created: bool) -> LoginResult:
        token = self.tokens.issue_access_token(person.id, person.roles, grant.session_id)
        return LoginResult(person, token, int(self.tokens.ttl.total_seconds()), grant, created)


def wechat_login_error(exc: WeChatError) -> AppError:
    """Map WeChat's refusal to what the phone should do next."""
    if isinstance(exc, InvalidCode | CodeAlreadyUsed):
        return AppError(E.WECHAT_CODE_INVALID)
    if isinstance(exc, RateLimited):
        return AppError(E.RATE_LIMITED_WECHAT, headers={"Retry-After": "60"})
    if isinstance(exc, HighRiskUser):
        return AppError(E.WECHAT_HIGH_RISK)
    if isinstance(exc, Busy):
        return AppError(E.WECHAT_UNAVAILABLE)
    log.warning("wechat_login_failed", errcode=exc.errcode, errmsg=exc.errmsg)
    return AppError(E.WECHAT_UNAVAILABLE)
