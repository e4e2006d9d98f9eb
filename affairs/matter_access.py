"""The catalogue's calls into the organisation's one scope check (`accounts.scopes`): who may change a matter
(a department admin of the department that implements it) and who may export (that admin, or a supervisor of
the region — "inside the region" is decided by the caller with the region tree, which knows renamed codes).

The actor is built from the staff record as it is now (`StaffAccount.actor()`), not from token claims, so a
department admin moved to another department loses the old department's matters on the next request.
"""

from __future__ import annotations

import structlog

from accounts.roles import Role
from accounts.scopes import Action, Actor, Kind, Resource, authorize
from core.errors import FORBIDDEN, AppError

log = structlog.get_logger(__name__)

# The demo seed changes matters as the system (an xlsx import acts as the admin who uploaded it): it passes every
# check and is recorded as `system:catalogue` in the audit trail. Compared by identity, so no token can claim it.
SYSTEM_ACTOR = Actor(roles=frozenset(), staff_id="system:catalogue")


def actor_id(actor: Actor) -> str:
    return actor.staff_id or actor.person_id or "unknown"


def authorize_matter_change(actor: Actor, department_code: str) -> None:
    """Return when `actor` may create, edit, submit, publish or withdraw a matter of `department_code`;
    otherwise `accounts.scopes.authorize` logs the refusal (电子监察 reads it) and raises 403 FORBIDDEN."""
    if actor is SYSTEM_ACTOR:
        return
    authorize(actor, Action.MANAGE, Resource(kind=Kind.MATTER, department_ids=(department_code,)))


def authorize_catalogue_export(actor: Actor, department_code: str | None, *, inside_actor_region: bool) -> None:
    """Return when `actor` may export the published matters of `department_code` (None: of the actor's whole
    region): a department admin their own department, a supervisor (电子监察) anything inside their region
    subtree (`inside_actor_region`, decided by the caller with the region tree). Otherwise log and 403."""
    if actor.is_staff and Role.DEPT_ADMIN in actor.roles and department_code is not None \
            and department_code == actor.department_id:
        return
    if actor.is_staff and Role.SUPERVISOR in actor.roles and inside_actor_region:
        return
    log.warning("access_denied", staff_id=actor.staff_id, person_id=actor.person_id, roles=sorted(actor.roles),
                action="read", kind="matter_export", department=department_code)
    raise AppError(FORBIDDEN, errmsg="部门管理员只能导出本部门的事项，电子监察只能导出本辖区的事项")
