"""Administering staff accounts: create, disable, change roles, list — each decided by `accounts.scopes` and
written to the staff audit trail.

The order inside each operation is deliberate: the scope check comes before anything that reveals data (a
department admin cannot probe which usernames exist elsewhere), validation of the password comes before the
expensive hash, and the username's uniqueness is a database rule (a retried create answers 409
STAFF_USERNAME_TAKEN instead of making a second account). Disabling also ends every login session of the
account, so its access tokens stop working on the next request, not when they expire.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import structlog
from pymongo.errors import DuplicateKeyError

from accounts import errors as AE
from accounts.identity import Principal
from accounts.passwords import Passwords, check_initial_password
from accounts.roles import StaffLevel, level_mismatch, normalise_staff_roles
from accounts.scopes import Action, Actor, Kind, Resource, authorize, is_allowed, require_staff, visible_scope
from accounts.sessions import LoginSessions
from accounts.staff import (
    USERNAME_RE,
    USERNAME_RULE,
    NewStaff,
    StaffAccount,
    StaffRepository,
    normalise_username,
    protect_phone,
)
from accounts.staff_audit import StaffAuditRepository
from accounts.staff_password import require_password_settled
from core.errors import CONFLICT, VALIDATION_FAILED, AppError, FieldError
from core.pii import BlindIndex, FieldCipher

log = structlog.get_logger(__name__)


@dataclass
class StaffAdministration:
    staff: StaffRepository
    audit: StaffAuditRepository
    passwords: Passwords
    sessions: LoginSessions
    cipher: FieldCipher
    index: BlindIndex

    async def current(self, principal: Principal, *, allowed_before_password_change: bool = False) -> StaffAccount:
        """The staff account behind a staff token, read fresh (roles, department, region as they are now).
        403 STAFF_ONLY for a resident's token; ACCOUNT_DISABLED for a disabled or deleted account; 403
        PASSWORD_CHANGE_REQUIRED while the initial password is unchanged, unless the operation is allowed then.
        The HTTP layer calls this for every staff request, so these rules hold everywhere."""
        require_staff(principal)
        account = await self.staff.get(principal.person_id)
        if account is None or account.disabled:
            raise AppError(AE.ACCOUNT_DISABLED)
        require_password_settled(account, allowed_before_change=allowed_before_password_change)
        return account

    async def create(self, actor: Actor, new: NewStaff, *, initial_password: str, ip: str | None = None) -> StaffAccount:
        new = replace(new, roles=normalise_staff_roles(new.roles))
        authorize(actor, Action.MANAGE, Resource(kind=Kind.STAFF_ACCOUNT, department_ids=(new.department_id,),
                                                 region_code=new.region_code, roles=frozenset(new.roles)))
        return await self._create(new, initial_password, actor_staff_id=actor.staff_id, ip=ip)

    async def create_as_system(self, new: NewStaff, *, initial_password: str, must_change_password: bool = True
                               ) -> StaffAccount:
        """For the bootstrap CLI and demo seeding only: no actor, the audit record says `actor_staff_id: null`."""
        new = replace(new, roles=normalise_staff_roles(new.roles))
        return await self._create(new, initial_password, actor_staff_id=None, ip=None,
                                  must_change_password=must_change_password)

    async def _create(self, new: NewStaff, initial_password: str, *, actor_staff_id: str | None, ip: str | None,
                      must_change_password: bool = True) -> StaffAccount:
        username = normalise_username(new.username)
        if not USERNAME_RE.fullmatch(username):
            raise AppError(VALIDATION_FAILED, errors=[FieldError("username", "USERNAME_INVALID", USERNAME_RULE)])
        check_initial_password(initial_password, username=username)
        _check_level(new.level, new.region_code)  # the HTTP model checks it too; seeding and the CLI come here only
        if await self.staff.find_by_username(username) is not None:
            raise AppError(AE.STAFF_USERNAME_TAKEN)  # before hashing: a retried create costs no argon2 time
        password_hash = await self.passwords.hash(initial_password)
        try:
            account = await self.staff.insert(
                replace(new, username=username), password_hash=password_hash,
                phone=protect_phone(new.mobile, self.cipher, self.index), created_by=actor_staff_id,
                must_change_password=must_change_password,
            )
        except DuplicateKeyError as exc:
            if "username" in str(exc):
                raise AppError(AE.STAFF_USERNAME_TAKEN) from None
            raise AppError(CONFLICT, errmsg="该人员已有工作人员账号") from None
        await self.audit.record("staff_created", target_staff_id=account.id, actor_staff_id=actor_staff_id,
                                request_ip=ip, details=_summary(account))
        log.info("staff_created", staff_id=account.id, by=actor_staff_id, roles=list(account.roles))
        return account

    async def _target(self, staff_id: str) -> StaffAccount:
        account = await self.staff.get(staff_id)
        if account is None:
            raise AppError(AE.STAFF_NOT_FOUND)
        return account

    async def disable(self, actor: Actor, staff_id: str, *, ip: str | None = None) -> tuple[StaffAccount, int]:
        """Disable the account and end its sessions. Idempotent: disabling a disabled account changes nothing
        (and writes no audit record) but still ends any session, so a retry heals a half-done first attempt.
        Returns (account, sessions ended)."""
        target = await self._target(staff_id)
        authorize(actor, Action.MANAGE, target.resource())
        changed = await self.staff.set_disabled(staff_id, by=actor.staff_id or "")
        ended = await self.sessions.logout_everywhere(staff_id)
        if changed is not None:
            await self.audit.record("staff_disabled", target_staff_id=staff_id, actor_staff_id=actor.staff_id,
                                    request_ip=ip, details={"ended_sessions": ended})
            log.info("staff_disabled", staff_id=staff_id, by=actor.staff_id, ended_sessions=ended)
        return (changed or await self._target(staff_id)), ended

    async def set_roles(self, actor: Actor, staff_id: str, roles: list[str], *, ip: str | None = None) -> StaffAccount:
        """Replace the account's roles. The scope check sees both the current and the requested roles, so a
        department admin can neither promote someone to admin nor demote an admin."""
        wanted = normalise_staff_roles(roles)
        target = await self._target(staff_id)
        authorize(actor, Action.MANAGE, target.resource(also_roles=wanted))
        if tuple(sorted(target.roles)) == wanted:
            return target  # a retried PUT: nothing to change, nothing to audit
        updated = await self.staff.set_roles(staff_id, wanted, expected_version=target.version)
        if updated is None:
            raise AppError(CONFLICT)  # another admin changed the account meanwhile: read it again
        await self.audit.record("staff_roles_changed", target_staff_id=staff_id, actor_staff_id=actor.staff_id,
                                request_ip=ip, details={"from": sorted(target.roles), "to": list(wanted)})
        log.info("staff_roles_changed", staff_id=staff_id, by=actor.staff_id, roles=list(wanted))
        return updated

    async def list(self, actor: Actor, *, after: str | None = None, limit: int = 50) -> list[StaffAccount]:
        """The accounts the actor may see, in creation order; the query is narrowed by `visible_scope` and each
        record is still checked, so a query bug cannot widen what is shown."""
        scope = visible_scope(actor, Kind.STAFF_ACCOUNT)
        accounts = await self.staff.list_visible(scope, after=after, limit=limit)
        return [a for a in accounts if is_allowed(actor, Action.READ, a.resource())]


def _summary(account: StaffAccount) -> dict[str, object]:
    return {"username": account.username, "department_id": account.department_id,
            "region_code": account.region_code, "level": account.level, "roles": list(account.roles)}


def _check_level(level: str, region_code: str) -> None:
    """A level that is not a StaffLevel, or does not fit the region code, would break every later sign-in."""
    if level not in StaffLevel.__members__.values():
        problem: str | None = f"层级须为 {'、'.join(lv.value for lv in StaffLevel)} 之一"
    else:
        problem = level_mismatch(StaffLevel(level), region_code)
    if problem:
        raise AppError(VALIDATION_FAILED, errors=[FieldError("level", "STAFF_LEVEL_INVALID", problem)])
