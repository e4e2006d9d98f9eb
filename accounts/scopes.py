"""The one scope check: may this actor do this to this resource? Every authorization decision is made here.

Services call `authorize(actor, action, resource)` (and `visible_scope` to build list queries); handlers never
compare roles themselves. The rules, table-tested in tests/unit/test_scopes.py:

- resident / parent: read and act on what they own (`owner_person_id`, or one of `owner_person_ids` when a record
  has several owners: a bill belongs to every guardian linked to the child), nothing else.
- staff: read and act on cases of their own department, inside their region subtree.
- school_finance: read and act on fees of their own department (school), inside their region subtree.
- dept_admin: read and manage staff accounts of their own department inside their region subtree, and only
  accounts whose roles (current and requested) are ones a department admin may grant (staff, school_finance),
  so a department admin can neither create nor disable an admin or a supervisor.
- supervisor (电子监察): read everything inside their region subtree, any department; never act or manage.
- sysadmin: read and manage staff accounts anywhere. Deliberately NOT allowed to read residents' cases or fees
  (least privilege): administering accounts is not a reason to see people's files. An administrator who also
  handles cases holds the `staff` role as well, with its department and region limits.
- matters (the catalogue): a dept_admin reads and manages (create, edit, submit, publish, withdraw) the matters
  of their own department; a supervisor reads them inside their region subtree.
- schools and fee items (payments/, docs/school-fees.md): `department_ids[0]` is the school itself (a school's
  finance staff have the school's code as their department), the rest are the departments overseeing it. The
  school's school_finance staff work on its roster (SCHOOL: read, act) and draft its fee items (FEE_ITEM: read,
  manage); a dept_admin of the education department registers and edits its schools (SCHOOL: read, manage); a
  staff member of the education or the price department reviews fee items (FEE_ITEM: read, act). The position,
  not just membership, decides: a school_finance account of the education department itself is no school.
- notifications (templates, their previews, delivery statistics): a sysadmin reads them; nobody else (the
  statistics name no person, but failure reasons are operations' business, not a department's).
- nobody manages their own account (no self-promotion, no locking oneself out); everyone may read their own.

Staff roles do not imply one another (a sysadmin without `staff` handles no cases); an actor's powers are the
union of the rules of the roles they hold.

Out-of-scope policy, 404 vs 403:
- A resident (anyone who is not staff) refused a *specific record* gets 404, the same errcode a missing record
  gives (`RESOURCE_NOT_FOUND`, or `STAFF_NOT_FOUND` for staff accounts): residents probing ids must not learn
  which records exist. Handlers raise that same code for a record that really does not exist.
- Staff refused anything get 403 `FORBIDDEN`. They work inside the organisation, see lists of its records, and
  need to know "not yours" from "gone" to ask the right colleague; the refusal is logged (`access_denied`) for
  电子监察. The issue asks exactly this for another department's case.
- Anyone refused an action that names no record (list, create) gets 403: there is no existence to hide.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import structlog

from accounts import errors as AE
from accounts.regions import region_contains
from accounts.roles import DEPT_ADMIN_GRANTABLE, Role, is_staff_roles
from core.errors import FORBIDDEN, AppError, ErrorCode

log = structlog.get_logger(__name__)


class Action(StrEnum):
    READ = "read"  # see the record
    ACT = "act"  # change it in the course of work: handle a case, mark a fee paid
    MANAGE = "manage"  # administer it: create, disable, change roles of a staff account


class Kind(StrEnum):
    CASE = "case"  # 办件 and what hangs off it (materials, documents, certificates)
    FEE = "fee"  # bills and payments
    PERSON = "person"  # a resident's own profile
    STAFF_ACCOUNT = "staff_account"
    MATTER = "matter"  # a matter (事项) of the catalogue and its guide
    NOTIFICATIONS = "notifications"  # the notification pipeline's templates and delivery statistics
    SCHOOL = "school"  # a school, its classes and its roster (students)
    FEE_ITEM = "fee_item"  # a school's fee item (收费项目) and its joint review


# Which staff role does a department's day-to-day work on which kind of record.
_DEPARTMENT_WORK: dict[str, Role] = {Kind.CASE: Role.STAFF, Kind.FEE: Role.SCHOOL_FINANCE}
_NOT_FOUND: dict[str, ErrorCode] = {Kind.STAFF_ACCOUNT: AE.STAFF_NOT_FOUND}


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting. Staff actors are built from the current staff record, not from token claims, so a role
    change or a move to another department applies on the next request."""

    roles: frozenset[str]
    person_id: str | None = None
    staff_id: str | None = None
    department_id: str | None = None
    region_code: str | None = None
    level: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.staff_id is not None and is_staff_roles(self.roles)


@dataclass(frozen=True, slots=True)
class Resource:
    """What is acted on. `id` is None for a record about to be created (and for lists); `roles` are, for a
    staff account, every role it holds or is about to be given. For SCHOOL and FEE_ITEM, `department_ids` is
    (the school, then its overseeing departments)."""

    kind: str
    id: str | None = None
    owner_person_id: str | None = None
    department_ids: tuple[str, ...] = ()
    owner_person_ids: tuple[str, ...] = ()
    region_code: str | None = None
    roles: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class Visibility:
    """What a list may show: None means "any" (sysadmin: department None and region None)."""

    department_id: str | None
    region_code: str | None


class HasRoles(Protocol):
    @property
    def roles(self) -> tuple[str, ...]: ...


def authorize(who: Actor, action: str, resource: Resource) -> None:
    """Return when allowed; otherwise raise AppError per the 404/403 policy above (and log the refusal)."""
    if _allowed(who, action, resource):
        return
    log.warning("access_denied", person_id=who.person_id, staff_id=who.staff_id, roles=sorted(who.roles),
                action=str(action), kind=str(resource.kind), resource_id=resource.id)
    if not who.is_staff and resource.id is not None:
        raise AppError(_NOT_FOUND.get(resource.kind, AE.RESOURCE_NOT_FOUND))
    raise AppError(FORBIDDEN, errmsg="超出您的权限范围（部门、辖区或角色）")


def is_allowed(who: Actor, action: str, resource: Resource) -> bool:
    """The same decision without raising, e.g. to show or hide a button."""
    return _allowed(who, action, resource)


def _allowed(who: Actor, action: str, resource: Resource) -> bool:
    if not who.is_staff:
        owner = who.person_id is not None and (
            resource.owner_person_id == who.person_id or who.person_id in resource.owner_person_ids)
        return owner and action in (Action.READ, Action.ACT)
    own_account = resource.kind == Kind.STAFF_ACCOUNT and resource.id is not None and resource.id == who.staff_id
    if own_account:
        return action == Action.READ  # never manage oneself
    roles = who.roles
    in_region = _in_region(who, resource)
    in_department = who.department_id is not None and who.department_id in resource.department_ids
    if Role.SUPERVISOR in roles and action == Action.READ and in_region:
        return True
    if resource.kind == Kind.STAFF_ACCOUNT:
        if Role.SYSADMIN in roles and action in (Action.READ, Action.MANAGE):
            return True
        if Role.DEPT_ADMIN in roles and in_department and in_region:
            return action == Action.READ or (action == Action.MANAGE and resource.roles <= DEPT_ADMIN_GRANTABLE)
        return False
    if resource.kind == Kind.MATTER:
        return Role.DEPT_ADMIN in roles and in_department and action in (Action.READ, Action.MANAGE)
    if resource.kind == Kind.NOTIFICATIONS:
        return Role.SYSADMIN in roles and action == Action.READ
    if resource.kind in (Kind.SCHOOL, Kind.FEE_ITEM):
        return in_region and _school_rule(who, action, resource)
    worker = _DEPARTMENT_WORK.get(resource.kind)
    return (
        worker is not None and worker in roles and action in (Action.READ, Action.ACT)
        and in_department and in_region
    )


def _school_rule(who: Actor, action: str, resource: Resource) -> bool:
    """SCHOOL and FEE_ITEM inside the actor's region: the school's own finance staff, or its overseers."""
    if not resource.department_ids or who.department_id is None:
        return False
    school, overseers = resource.department_ids[0], resource.department_ids[1:]
    if who.department_id == school and Role.SCHOOL_FINANCE in who.roles:
        work = Action.ACT if resource.kind == Kind.SCHOOL else Action.MANAGE
        return action in (Action.READ, work)
    if who.department_id in overseers:
        if resource.kind == Kind.SCHOOL and Role.DEPT_ADMIN in who.roles:
            return action in (Action.READ, Action.MANAGE)
        if resource.kind == Kind.FEE_ITEM and Role.STAFF in who.roles:
            return action in (Action.READ, Action.ACT)
    return False


def _in_region(who: Actor, resource: Resource) -> bool:
    return bool(who.region_code and resource.region_code and region_contains(who.region_code, resource.region_code))


def visible_scope(who: Actor, kind: str) -> Visibility:
    """The widest set of records of `kind` the actor may list; raise 403 when they may list none. The list
    query filters by it, and callers still `authorize` each record they return (defence in depth)."""
    roles = who.roles if who.is_staff else frozenset()
    if kind == Kind.STAFF_ACCOUNT and Role.SYSADMIN in roles:
        return Visibility(None, None)
    if Role.SUPERVISOR in roles and who.region_code:
        return Visibility(None, who.region_code)
    reader = Role.DEPT_ADMIN if kind == Kind.STAFF_ACCOUNT else _DEPARTMENT_WORK.get(kind)
    if reader is not None and reader in roles and who.department_id and who.region_code:
        return Visibility(who.department_id, who.region_code)
    raise AppError(FORBIDDEN, errmsg="超出您的权限范围（部门、辖区或角色）")


def require_staff(principal: HasRoles) -> None:
    """For staff-only endpoints: a resident's token is refused with 403 STAFF_ONLY before anything is loaded."""
    if not is_staff_roles(principal.roles):
        raise AppError(AE.STAFF_ONLY)


def require_resident(principal: HasRoles) -> None:
    """For a resident's own endpoints (bind ID, my profile): a staff token is refused with 403 RESIDENT_ONLY,
    so a staff account id is never treated as a person id (no binding of an ID number to a staff account)."""
    if is_staff_roles(principal.roles):
        raise AppError(AE.RESIDENT_ONLY)
