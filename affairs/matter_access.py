"""Who may change the catalogue: a department admin of the department that implements the matter.

This is the one place that decides it. `accounts.scopes.authorize` is the organisation's single scope check and
has no rule for matters yet; when it gains one (`dept_admin` may MANAGE a `matter` of their own department),
`authorize_matter_change` becomes a call to it and nothing else in the catalogue changes. The actor is built
from the staff record as it is now (`StaffAccount.actor()`), not from token claims, so a department admin
moved to another department loses the old department's matters on the next request.
"""

from __future__ import annotations

import structlog

from accounts.roles import Role
from accounts.scopes import Actor
from core.errors import FORBIDDEN, AppError

log = structlog.get_logger(__name__)

# The demo seed (and later the xlsx import's system jobs) change matters as the system: it passes every check
# and is recorded as `system:catalogue` in the audit trail. Compared by identity, so no token can claim it.
SYSTEM_ACTOR = Actor(roles=frozenset(), staff_id="system:catalogue")


def actor_id(actor: Actor) -> str:
    return actor.staff_id or actor.person_id or "unknown"


def authorize_matter_change(actor: Actor, department_code: str) -> None:
    """Return when `actor` may create, edit, submit, publish or withdraw a matter of `department_code`;
    otherwise log the refusal (电子监察 reads it) and raise 403 FORBIDDEN."""
    if actor is SYSTEM_ACTOR:
        return
    if actor.is_staff and Role.DEPT_ADMIN in actor.roles and actor.department_id == department_code:
        return
    log.warning("access_denied", staff_id=actor.staff_id, person_id=actor.person_id, roles=sorted(actor.roles),
                action="manage", kind="matter", department=department_code)
    raise AppError(FORBIDDEN, errmsg="只有实施部门的部门管理员可以编辑、提交、发布或撤回该部门的事项")
