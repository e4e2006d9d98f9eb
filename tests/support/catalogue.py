"""Helpers for catalogue tests: staff callers with real staff accounts (tokens issued directly, no SMS login),
resident callers, and a fresh valid guide to create matters that never collide with the demo data."""

from __future__ import annotations

import copy
import secrets
from dataclasses import dataclass
from typing import Any

from accounts.regions import region_level
from accounts.scopes import Actor
from affairs.demo_catalogue import DEMO_MATTERS
from affairs.demo_kit import DEPARTMENT_BY_CODE
from config.wiring import Dependencies
from core.ids import new_id
from tests.support.staff import make_staff


@dataclass
class Caller:
    """Whoever calls the API: the bearer header and, for staff, the actor the services see."""

    headers: dict[str, str]
    actor: Actor | None = None


async def staff_caller(deps: Dependencies, department_code: str, *, roles: tuple[str, ...] = ("dept_admin",)
                       ) -> Caller:
    """A real staff account of a demo department and an access token for it (as staff login would issue)."""
    department = DEPARTMENT_BY_CODE[department_code]
    user = await make_staff(deps, roles=roles, department_id=department.code, department_name=department.name,
                            region_code=department.region_code, level=region_level(department.region_code).value)
    grant = await deps.sessions.start(user.account.id, device="办公电脑", ip=None)
    token = deps.identity.tokens.issue_access_token(user.account.id, user.account.roles, grant.session_id)
    return Caller({"Authorization": f"Bearer {token}"}, user.account.actor())


async def resident_caller(deps: Dependencies) -> Caller:
    """A resident's token (a person id with the resident role and an active session)."""
    person_id = new_id()
    grant = await deps.sessions.start(person_id, device="iPhone 15", ip=None)
    token = deps.identity.tokens.issue_access_token(person_id, ("resident",), grant.session_id)
    return Caller({"Authorization": f"Bearer {token}"})


def dept_admin_actor(department_code: str) -> Actor:
    """An actor for service-level tests (no account needed: the services take the actor as given)."""
    department = DEPARTMENT_BY_CODE[department_code]
    return Actor(roles=frozenset({"dept_admin"}), staff_id=new_id(), department_id=department.code,
                 region_code=department.region_code, level=region_level(department.region_code).value)


def demo_guide(code: str) -> dict[str, Any]:
    """A deep copy of one demo matter's create body."""
    return copy.deepcopy(next(raw for raw in DEMO_MATTERS if raw["code"] == code))


def new_matter(template: str = "430182-MZ-0001", **changes: Any) -> dict[str, Any]:
    """A valid create body based on a demo guide, with a fresh code and a name no demo matter shares."""
    body = demo_guide(template)
    tag = secrets.token_hex(3).upper()
    body.update(code=f"T{tag}-{template}"[:40], name=f"测试事项{tag}", keywords=[f"测试{tag}"])
    body.update(changes)
    return body


def guide_of(body: dict[str, Any]) -> dict[str, Any]:
    """The PUT draft body (a create body without its code)."""
    return {key: value for key, value in body.items() if key != "code"}
