"""A staff member changes their own password; until they replace the initial one, that is all they may do.

An administrator sets the initial password and therefore knows it, so an account created with one carries
`must_change_password` and is good for nothing but changing it: `require_password_settled` is the one gate,
called (through `StaffAdministration.current`) for every request made with a staff token. Only operations that
declare themselves allowed before the change pass it: changing the password, reading one's own account, and
logging out (ending one's own session gives nobody any power, and refusing it would leave a session nobody
may close).

The change proves the old password (argon2 in its thread pool, never on the IOLoop). A wrong old password
counts towards the same lockout as a wrong password at login (`StaffLogin.refuse_password`), so a stolen access
token cannot be used to guess the password at leisure. The new password follows the initial-password policy
(accounts/passwords.py) plus "not the same as the old one", every broken rule reported under `new_password`.
It is stored only if the hash is still the one just verified (a concurrent change answers 409). Then every
OTHER session of the account ends: whoever may have known the old password loses access at once, while the
device that made the change carries on without logging in again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from accounts import errors as AE
from accounts.identity import Principal
from accounts.passwords import Passwords, check_initial_password, normalise_password
from accounts.sessions import LoginSessions
from accounts.staff import StaffAccount, StaffRepository
from accounts.staff_audit import StaffAuditRepository
from accounts.staff_login import StaffLogin, locked_error
from core.errors import CONFLICT, AppError, FieldError

log = structlog.get_logger(__name__)

NEW_FIELD = "new_password"


def require_password_settled(account: StaffAccount, *, allowed_before_change: bool) -> None:
    """403 PASSWORD_CHANGE_REQUIRED while the account still has its initial password, unless the operation
    being called is one of the few allowed before the change."""
    if account.must_change_password and not allowed_before_change:
        raise AppError(AE.PASSWORD_CHANGE_REQUIRED)


def check_new_password(old: str, new: str, *, username: str) -> None:
    """The policy for a new password: the initial-password rules, and it must differ from the old one.
    AppError(PASSWORD_TOO_WEAK, 422) naming `new_password` with every broken rule."""
    if normalise_password(new) == normalise_password(old):
        problem = FieldError(NEW_FIELD, "PASSWORD_UNCHANGED", "新密码不能与原密码相同")
        raise AppError(AE.PASSWORD_TOO_WEAK, errmsg=problem.errmsg, errors=[problem])
    check_initial_password(new, username=username, field=NEW_FIELD)


@dataclass(frozen=True, slots=True)
class PasswordChanged:
    account: StaffAccount
    ended_sessions: int


@dataclass
class StaffPasswordChange:
    staff: StaffRepository
    audit: StaffAuditRepository
    passwords: Passwords
    sessions: LoginSessions
    login: StaffLogin

    async def change(self, principal: Principal, account: StaffAccount, old_password: str, new_password: str, *,
                     ip: str | None) -> PasswordChanged:
        """`account` is the caller's (read fresh by the HTTP layer); `principal.session_id` is kept alive."""
        check_new_password(old_password, new_password, username=account.username)  # cheap checks before argon2
        now = datetime.now(UTC)
        if account.locked_until is not None and account.locked_until > now:  # the login lock holds here too
            raise locked_error(account.locked_until - now)
        stored = await self.staff.password_hash(account.id)
        if stored is None:
            raise AppError(AE.ACCOUNT_DISABLED)
        if not await self.passwords.verify(stored, old_password):
            wrong = FieldError("old_password", "PASSWORD_WRONG", AE.STAFF_OLD_PASSWORD_WRONG.message)
            await self.login.refuse_password(account.id, AppError(AE.STAFF_OLD_PASSWORD_WRONG, errors=[wrong]), ip=ip)
        new_hash = await self.passwords.hash(new_password)
        if not await self.staff.set_password(account.id, new_hash=new_hash, expected_hash=stored):
            raise AppError(CONFLICT, errmsg="密码刚刚已被修改，请重新登录")
        ended = await self.sessions.logout_everywhere(account.id, except_session=principal.session_id,
                                                      reason="password_changed")
        await self.audit.record("staff_password_changed", target_staff_id=account.id, actor_staff_id=account.id,
                                request_ip=ip, details={"was_initial": account.must_change_password,
                                                        "ended_sessions": ended})
        log.info("staff_password_changed", staff_id=account.id, ended_sessions=ended)
        updated = await self.staff.get(account.id)
        if updated is None:
            raise AppError(AE.ACCOUNT_DISABLED)
        return PasswordChanged(updated, ended)
