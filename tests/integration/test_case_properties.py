"""Hypothesis against the real services and MongoDB: random sequences of applicant and staff actions on one case
never leave the state machine, every action that succeeds appends its history events (none lost, none extra),
every refusal changes nothing, and the stored chain always verifies."""

from __future__ import annotations

import itertools
import secrets
from datetime import date
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from accounts.citizen_id import make_citizen_id
from affairs import case_chain
from affairs import errors as AF
from affairs.case_inputs import (
    Accept,
    Complete,
    Decision,
    DraftChange,
    MaterialChoice,
    NotAccept,
    Problem,
    SupplementRequest,
    Withdraw,
)
from affairs.case_states import CaseState
from affairs.demo_kit import DEPT
from config.pii import pii_from_settings
from config.wiring import Dependencies
from core.errors import AppError
from tests.support.cases import filled
from tests.support.catalogue import dept_admin_actor, new_matter
from tests.support.staff import make_staff

ACTIONS = ("submit", "withdraw", "claim_main", "claim_co", "supplement", "resubmit", "accept", "not_accept", "approve_main",
           "approve_co", "deny_co", "complete")
MAIN, CO = DEPT["nx_civil"], DEPT["nx_hrss"]
_world: dict[str, Any] = {}


async def world(deps: Dependencies) -> dict[str, Any]:
    """One matter (two departments, materials all satisfiable by e-certificates) and its staff, made once."""
    if _world:
        return _world
    body = new_matter("430182-MZ-0001", co_department_codes=[CO])
    for material in body["materials"]:
        material.update(required=material.get("ecert_type") is not None, defer_allowed=False)
    admin = dept_admin_actor(MAIN)
    await deps.catalogue.admin.create(admin, body)
    await deps.catalogue.admin.submit(admin, body["code"])
    await deps.catalogue.admin.publish(admin, body["code"])
    main = (await make_staff(deps, department_id=MAIN, region_code="430182")).account
    co = (await make_staff(deps, department_id=CO, region_code="430182")).account
    _world.update(code=body["code"], schema=body["form_schema"], materials=body["materials"], main=main, co=co)
    return _world


SEQUENCES = itertools.count(100, 2)  # one ID number per example (even: a woman); random ones collided


async def applicant(deps: Dependencies) -> tuple[str, str]:
    cipher, index = pii_from_settings(deps.settings)
    person, _ = await deps.people.upsert_wechat(app="miniprogram", openid="o" + secrets.token_hex(8), unionid=None)
    number = make_citizen_id("430124", date(1950, 3, 4), next(SEQUENCES))
    await deps.people.set_citizen_id(
        person.id, name="周桂英", encrypted=cipher.encrypt(number, context="person.id_number"),
        index=index.id_number(number), masked=number[:6] + "********" + number[-4:], region_code="430124",
        birth_date=date(1950, 3, 4), gender="女")
    return person.id, number


async def open_task_of(deps: Dependencies, case_id: str, department: str) -> dict[str, Any] | None:
    tasks = await deps.cases.inbox.tasks.of_case(case_id)
    live = [t for t in tasks if t["department_code"] == department and t["state"] in ("open", "claimed")]
    return live[-1] if live else None


async def attempt(deps: Dependencies, w: dict[str, Any], person: str, case_id: str, change: DraftChange,
                  action: str) -> None:
    cases, main, co = deps.cases, w["main"], w["co"]

    async def task_for(department: str) -> str:
        task = await open_task_of(deps, case_id, department)
        if task is None:
            raise AppError(AF.TASK_NOT_FOUND)
        return task["_id"]

    if action == "submit":
        await cases.apply.submit(person, case_id, change, idempotency_key=None, body=b"")
    elif action == "withdraw":
        await cases.apply.withdraw(person, case_id, Withdraw(reason="不办了"))
    elif action in ("claim_main", "claim_co"):
        account, department = (main, MAIN) if action == "claim_main" else (co, CO)
        await cases.inbox.claim(account, await task_for(department))
    elif action == "supplement":
        await cases.review.request_supplement(main, await task_for(MAIN), SupplementRequest(
            problems=[Problem(target="materials.0", message="证照已过期")]))
    elif action == "resubmit":
        await cases.apply.resubmit(person, case_id, change)
    elif action == "accept":
        await cases.review.accept(main, await task_for(MAIN), Accept())
    elif action == "not_accept":
        await cases.review.not_accept(main, await task_for(MAIN), NotAccept(reason="不符合条件"))
    elif action in ("approve_main", "approve_co", "deny_co"):
        account, department = (main, MAIN) if action == "approve_main" else (co, CO)
        await cases.review.decide(account, await task_for(department),
                                  Decision(approve=action != "deny_co", opinion="审查意见"))
    elif action == "complete":
        await cases.review.complete(main, case_id, Complete(kind="delivery", note="邮寄送达"))


@example(["submit", "claim_main", "accept", "claim_co", "approve_co", "claim_main", "approve_main", "complete",
          "withdraw"])
@example(["submit", "claim_main", "supplement", "supplement", "resubmit", "claim_main", "accept", "claim_co",
          "deny_co", "approve_main", "complete"])
@example(["submit", "withdraw", "claim_main", "submit"])
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=14))
async def test_random_actions_never_escape_the_machine_nor_lose_events(deps: Dependencies, demo_catalogue: object,
                                                                       sequence: list[str]) -> None:
    w = await world(deps)
    person, number = await applicant(deps)
    certs = {}
    for material in w["materials"]:
        if material.get("ecert_type") and material["ecert_type"] not in certs:
            cert = await deps.cases.ecerts.issue(holder_person_id=person, type_=material["ecert_type"],
                                                 issuer="测试", title="证照", now=deps.cases.now(), source_case_id=None)
            certs[material["ecert_type"]] = cert["_id"]
    change = DraftChange(form=filled(w["schema"], id_number=number), materials=[
        MaterialChoice(index=i, ecert_id=certs[m["ecert_type"]])
        for i, m in enumerate(w["materials"]) if m.get("ecert_type")])
    case = await deps.cases.apply.start(person, w["code"])
    for action in sequence:
        before = await deps.cases.apply.cases.get(case["_id"])
        assert before is not None
        try:
            await attempt(deps, w, person, case["_id"], change, action)
            refused = None
        except AppError as error:
            refused = error
        after = await deps.cases.apply.cases.get(case["_id"])
        assert after is not None and after["state"] in set(CaseState)
        if refused is None:
            assert after["seq"] > before["seq"], action  # a step that happened is on record
        else:
            assert refused.status in (403, 404, 409, 422), refused
            assert (after["state"], after["seq"], after["version"]) == (
                before["state"], before["seq"], before["version"]), (action, refused)  # a refusal changes nothing
        events = await deps.cases.events.of_case(case["_id"])
        assert [e["seq"] for e in events] == list(range(1, after["seq"] + 1))
        transitions = [e for e in events if e["from"] != e["to"]]
        assert transitions[-1]["to"] == after["state"] if transitions else after["state"] == "draft"
        report = case_chain.verify(events, head_hash=after["chain_head"], expected_count=after["seq"])
        assert report.ok, report
