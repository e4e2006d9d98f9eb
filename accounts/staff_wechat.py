"""Staff WeChat login: bind the mini-program WeChat once, then sign in with `wx.login()` alone.

A signed-in staff member binds their WeChat (`bind`, a `wx.login()` code): the account records the mini-program
openid and, when WeChat gives one, the unionid (each unique across staff accounts, so one WeChat identity opens
at most one staff account; a second account gets 409 STAFF_WECHAT_TAKEN). `login` exchanges a fresh code for the
bound account's staff tokens (session `kind` "staff", `auth_method` WECHAT); an unbound WeChat gets 401
STAFF_WECHAT_NOT_BOUND, which tells the person to sign in with password + SMS first and bind. `unbind` forgets
the binding and ends every session that WeChat login started.

Decision: a WeChat login needs NO SMS code afterwards. Why that is acceptable for a government back office:
- The WeChat identity becomes a credential only by binding, and binding is allowed only from a session proven
  by password + SMS code (403 STAFF_WECHAT_BIND_NEEDS_SMS from a WeChat session). As when enrolling any
  authenticator (NIST SP 800-63B: binding requires authentication at the account's level), the binding carries
  both factors, and a WeChat session can never move the credential to another WeChat.
- The code comes from `wx.login()` inside our mini-program on the phone where that WeChat is signed in; WeChat
  guards that sign-in (device binding, its own login, risk control: a high-risk user, 40226, is refused). It is
  a possession factor, and the openid is one WeChat issues to our app only.
- An SMS code on top would add no independent factor: on a phone it arrives on the same device that runs
  WeChat, so whoever holds the unlocked phone has both. It would only make staff wait for an SMS at every login
  on the device they handle cases with.
- The limits: system administrators (`sysadmin`, who create accounts and grant roles) cannot bind or log in
  with WeChat and keep password + SMS for every login (the two-factor rule for administrators of 等保 2.0).
  Disabled accounts are refused, and so are locked ones (a lockout means someone is attacking the password;
  WeChat login waits it out too). Unbinding ends the WeChat sessions; disabling ends all sessions.
Every bind, unbind, login and refused login of a real account goes to the staff audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from pymongo.errors import DuplicateKeyError

from accounts import errors as AE
from accounts.identity import Principal, wechat_login_error
from accounts.roles import Role
from accounts.sessions import LoginSessions
from accounts.staff import StaffAccount, StaffRepository
from accounts.staff_audit import StaffAuditRepository
from accounts.staff_login import PASSWORD_SMS, StaffLogin, StaffLoginResult, locked_error
from core.errors import AppError
from wechat import MiniProgram, Session, WeChatError

log = structlog.get_logger(__name__)

WECHAT = "wechat"  # the session's auth_method after a WeChat login
APP = "mp"  # the mini-program; official-account binding can follow with app "oa" on the same storage
# Roles whose holders sign in with password + SMS only: those who administer accounts.
PASSWORD_ONLY_ROLES = frozenset({Role.SYSADMIN.value})


def wechat_login_allowed(roles: tuple[str, ...]) -> bool:
    return not PASSWORD_ONLY_ROLES.intersection(roles)


def login_refusal(account: StaffAccount, *, now: datetime) -> AppError | None:
    """Why this bound account may not sign in with WeChat now, or None: disabled, locked, administrator."""
    if account.disabled:
        return AppError(AE.ACCOUNT_DISABLED)
    if account.locked_until is not None and account.locked_until > now:
        return locked_error(account.locked_until - now)
    if not wechat_login_allowed(account.roles):
        return AppError(AE.STAFF_WECHAT_NOT_ALLOWED)
    return None


@dataclass(frozen=True, slots=True)
class WeChatUnbound:
    account: StaffAccount
    ended_sessions: int


@dataclass
class StaffWeChat:
    staff: StaffRepository
    audit: StaffAuditRepository
    sessions: LoginSessions
    login_service: StaffLogin
    miniprogram: MiniProgram

    async def _exchange(self, code: str) -> Session:
        try:
            return await self.miniprogram.code2session(code)
        except WeChatError as exc:
            raise wechat_login_error(exc) from None

    async def bind(self, principal: Principal, account: StaffAccount, code: str, *, ip: str | None) -> StaffAccount:
        """Bind the caller's WeChat to `account` (the caller's, read fresh). Binding the same WeChat again is a
        no-op (a retry); another WeChat while one is bound is 409 STAFF_WECHAT_ALREADY_BOUND."""
        if principal.auth_method != PASSWORD_SMS:
            raise AppError(AE.STAFF_WECHAT_BIND_NEEDS_SMS)
        if not wechat_login_allowed(account.roles):
            raise AppError(AE.STAFF_WECHAT_NOT_ALLOWED)
        session = await self._exchange(code)
        try:
            outcome = await self.staff.bind_wechat(account.id, app=APP, openid=session.openid,
                                                   unionid=session.unionid)
        except DuplicateKeyError:
            owner = await self.staff.find_by_openid(app=APP, openid=session.openid)
            await self.audit.record("staff_wechat_bind_refused", target_staff_id=account.id,
                                    actor_staff_id=account.id, request_ip=ip,
                                    details={"reason": "bound_to_another_account",
                                             "owner_staff_id": owner.id if owner else None})
            log.warning("staff_wechat_taken", staff_id=account.id, owner_staff_id=owner.id if owner else None)
            raise AppError(AE.STAFF_WECHAT_TAKEN) from None
        if outcome == "other":
            raise AppError(AE.STAFF_WECHAT_ALREADY_BOUND)
        if outcome == "bound":
            await self.audit.record("staff_wechat_bound", target_staff_id=account.id, actor_staff_id=account.id,
                                    request_ip=ip, details={"app": APP, "unionid": session.unionid is not None})
            log.info("staff_wechat_bound", staff_id=account.id, has_unionid=session.unionid is not None)
        return await self._reread(account.id)

    async def unbind(self, account: StaffAccount, *, ip: str | None) -> WeChatUnbound:
        """Forget the binding and end every session WeChat login started (the caller's own too, if it was one).
        Idempotent: the sessions are ended even when nothing was bound, so a retry heals a half-done first try."""
        changed = await self.staff.unbind_wechat(account.id)
        ended = await self.sessions.logout_everywhere(account.id, auth_method=WECHAT, reason="wechat_unbound")
        if changed:
            await self.audit.record("staff_wechat_unbound", target_staff_id=account.id, actor_staff_id=account.id,
                                    request_ip=ip, details={"ended_sessions": ended})
            log.info("staff_wechat_unbound", staff_id=account.id, ended_sessions=ended)
        return WeChatUnbound(await self._reread(account.id), ended)

    async def login(self, code: str, *, device: str, ip: str | None) -> StaffLoginResult:
        """Staff tokens for the account bound to this WeChat; no second step (see the module docstring)."""
        session = await self._exchange(code)
        account = await self.staff.find_by_openid(app=APP, openid=session.openid)
        if account is None:
            log.info("staff_wechat_login_unbound", has_unionid=session.unionid is not None)
            raise AppError(AE.STAFF_WECHAT_NOT_BOUND)
        refusal = login_refusal(account, now=datetime.now(UTC))
        if refusal is not None:
            await self.audit.record("staff_wechat_login_refused", target_staff_id=account.id, actor_staff_id=None,
                                    request_ip=ip, details={"reason": refusal.error.code})
            log.warning("staff_wechat_login_refused", staff_id=account.id, reason=refusal.error.code)
            raise refusal
        return await self.login_service.open_session(account, device=device, ip=ip, auth_method=WECHAT)

    async def _reread(self, staff_id: str) -> StaffAccount:
        account = await self.staff.get(staff_id)
        if account is None:
            raise AppError(AE.ACCOUNT_DISABLED)
        return account
