"""好差评 against the real services and MongoDB: the invitation is part of the step that ends a case (no
invitation, no ending), one rating per case under concurrent taps, the window, the 404/403 policy, the
department's list and its once-only follow-up, and the summary's 满意率.

Cases are driven through the workflow's own functions on the property test's matter (two departments, every
material an e-certificate): `world`, `applicant` and `attempt` come from tests/integration/test_case_properties.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo.errors import DuplicateKeyError

from accounts.scopes import Actor
from affairs import rating_errors as RE
from affairs.case_inputs import Complete, DraftChange, MaterialChoice
from affairs.rating_inputs import FollowUpIn, RatingIn
from affairs.ratings import Ratings
from config.wiring import Dependencies
from core.errors import AppError
from core.ids import new_id
from tests.integration.test_case_properties import CO, MAIN, applicant, attempt, world
from tests.support.cases import filled
from tests.support.staff import make_staff

ROADS = {
    "completed": ["submit", "claim_main", "accept", "claim_co", "approve_co", "claim_main", "approve_main",
                  "complete"],
    "approved": ["submit", "claim_main", "accept", "claim_co", "approve_co", "claim_main", "approve_main"],
    "denied": ["submit", "claim_main", "accept", "claim_co", "deny_co"],
    "not_accepted": ["submit", "claim_main", "not_accept"],
    "withdrawn": ["submit", "withdraw"],
}


async def case_on_road(deps: Dependencies, road: str) -> tuple[str, Actor]:
    """A case of a fresh applicant taken down `road`; its id and the applicant as a scope-check actor."""
    w = await world(deps)
    person, number = await applicant(deps)
    certs: dict[str, str] = {}
    for material in w["materials"]:
        if material.get("ecert_type") and material["ecert_type"] not in certs:
            cert = await deps.cases.ecerts.issue(holder_person_id=person, type_=material["ecert_type"],
                                                 issuer="测试", title="证照", now=deps.cases.now(), source_case_id=None)
            certs[material["ecert_type"]] = cert["_id"]
    change = DraftChange(form=filled(w["schema"], id_number=number), materials=[
        MaterialChoice(index=i, ecert_id=certs[m["ecert_type"]]) for i, m in enumerate(w["materials"])
        if m.get("ecert_type")])
    case = await deps.cases.apply.start(person, w["code"])
    for action in ROADS[road]:
        await attempt(deps, w, person, case["_id"], change, action)
    return case["_id"], Actor(roles=frozenset({"resident"}), person_id=person)


@pytest.fixture
def ratings(deps: Dependencies) -> Iterator[Ratings]:
    """The session's ratings service, its clock put back after the test."""
    yield deps.ratings
    deps.ratings.now = lambda: datetime.now(UTC)


async def refused(call: Any) -> AppError:
    with pytest.raises(AppError) as caught:
        await call
    return caught.value


@pytest.mark.parametrize("road", ["completed", "denied", "not_accepted"])
async def test_the_step_that_ends_a_case_invites_its_applicant_once(deps: Dependencies, demo_catalogue: object,
                                                                     road: str) -> None:
    case_id, actor = await case_on_road(deps, road)
    case = await deps.cases.apply.cases.get(case_id)
    assert case is not None and case["state"] == road
    events = await deps.cases.apply.history.outbox.for_subject("case", case_id)
    [invite] = [e for e in events if e["topic"] == "case.rating_requested"]
    ended = case.get("completed_at") or case["decided_at"]
    assert invite["data"]["completed_at"] == ended and invite["created_at"] == ended  # recorded with the step
    assert invite["recipients"] == [{"kind": "person", "id": actor.person_id}]
    assert invite["data"]["matter_name"] == case["matter"]["name"]


async def test_no_invitation_means_no_completion(deps: Dependencies, demo_catalogue: object) -> None:
    """The invitation is written in the completion's transaction: when it cannot be (its key is taken), the
    case stays approved, with no history event and no case.completed either."""
    case_id, _ = await case_on_road(deps, "approved")
    before = await deps.cases.apply.cases.get(case_id)
    assert before is not None
    blocker = {"_id": new_id(), "key": f"case:{case_id}:rating_requested", "topic": "test.blocker",
               "state": "processed", "subject": {"kind": "test", "unusable": "holds the invitation's key"}}
    await deps.db["outbox"].insert_one(blocker)
    try:
        with pytest.raises(DuplicateKeyError):
            await deps.cases.review.complete((await world(deps))["main"], case_id, Complete(kind="delivery"))
    finally:
        await deps.db["outbox"].delete_one({"_id": blocker["_id"]})
    after = await deps.cases.apply.cases.get(case_id)
    assert after is not None and (after["state"], after["seq"]) == ("approved", before["seq"])
    topics = [e["topic"] for e in await deps.cases.apply.history.outbox.for_subject("case", case_id)]
    assert "case.completed" not in topics and "case.rating_requested" not in topics
    await deps.cases.review.complete((await world(deps))["main"], case_id, Complete(kind="delivery"))
    topics = [e["topic"] for e in await deps.cases.apply.history.outbox.for_subject("case", case_id)]
    assert topics.count("case.completed") == topics.count("case.rating_requested") == 1


async def test_one_rating_per_case_replays_and_conflicts(deps: Dependencies, demo_catalogue: object,
                                                         ratings: Ratings) -> None:
    case_id, me = await case_on_road(deps, "completed")
    before = await ratings.status(me, case_id)
    assert before["rateable"] is True and before["rating"] is None and before["rate_until"] > datetime.now(UTC)

    good = RatingIn(level=5, tags=["一次办成", "流程简便"], comment="很方便")
    first, second = await asyncio.gather(ratings.rate(me, case_id, good), ratings.rate(me, case_id, good))
    assert first == second and first["rateable"] is False  # two taps at once: one rating, the same answer
    assert await deps.db["case_ratings"].count_documents({"case_id": case_id}) == 1
    replay = await ratings.rate(me, case_id, RatingIn(level=5, tags=["流程简便", "一次办成"], comment=" 很方便 "))
    assert replay == first == await ratings.status(me, case_id)

    other = await refused(ratings.rate(me, case_id, RatingIn(level=1, comment="其实很慢")))
    assert other.error is RE.RATING_ALREADY_GIVEN
    assert other.extra["rating"]["level"] == 5 and other.extra["rating"]["id"] == first["rating"]["id"]

    stranger = Actor(roles=frozenset({"resident"}), person_id=new_id())
    for call in (ratings.rate(stranger, case_id, good), ratings.status(stranger, case_id),
                 ratings.status(me, new_id())):
        assert (await refused(call)).error.code == "RESOURCE_NOT_FOUND"


async def test_what_may_not_be_rated(deps: Dependencies, demo_catalogue: object, ratings: Ratings) -> None:
    for road, errcode in (("approved", "RATING_NOT_OPEN"), ("withdrawn", "RATING_NOT_OPEN")):
        case_id, me = await case_on_road(deps, road)
        assert (await refused(ratings.rate(me, case_id, RatingIn(level=4)))).error.code == errcode
        assert (await ratings.status(me, case_id))["rateable"] is False

    case_id, me = await case_on_road(deps, "not_accepted")
    case = await deps.cases.apply.cases.get(case_id)
    assert case is not None
    ratings.now = lambda: case["decided_at"] + timedelta(days=deps.settings.rating_window_days, seconds=1)
    late = await refused(ratings.rate(me, case_id, RatingIn(level=2, comment="不予受理的理由没有说清楚")))
    assert late.error is RE.RATING_WINDOW_CLOSED
    status = await ratings.status(me, case_id)
    assert status["rateable"] is False and "评价期限" in status["reason"]
    bad = await refused(ratings.rate(me, case_id, RatingIn(level=2)))
    assert [e.errcode for e in bad.errors] == ["COMMENT_REQUIRED"]  # checked before anything else


async def test_a_bad_rating_is_followed_up_once_by_its_department(deps: Dependencies, demo_catalogue: object,
                                                                  ratings: Ratings) -> None:
    w = await world(deps)
    main = w["main"]
    before = await ratings.summary(main.actor())
    case_id, me = await case_on_road(deps, "denied")  # MAIN implements; CO denied it
    rated = await ratings.rate(me, case_id, RatingIn(level=1, tags=["结果不满意"], comment="拒绝理由没有依据"))
    rating = rated["rating"]
    assert rating["bad"] and rating["needs_follow_up"] and rating["follow_up_due_date"] > rating["rated_at"].date().isoformat()
    assert rating["department_code"] == MAIN

    mine = await ratings.page(main.actor(), levels=[1, 2], needs_follow_up=True, department_code=None, cursor=None,
                              limit=50)
    assert rating["id"] in [r["id"] for r in mine["items"]]
    good_only = await ratings.page(main.actor(), levels=[5], needs_follow_up=None, department_code=None,
                                   cursor=None, limit=50)
    assert rating["id"] not in [r["id"] for r in good_only["items"]]

    # another department (even the one that denied), another region, a supervisor: no follow-up from them
    co = w["co"]
    elsewhere = (await make_staff(deps, department_id=MAIN, region_code="430181")).account
    supervisor = (await make_staff(deps, roles=("supervisor",), department_id=CO, region_code="430182")).account
    note = FollowUpIn(outcome="explained", note="已电话回访，说明不予许可的法定依据")
    for account in (co, elsewhere, supervisor):
        assert account is not None
        assert (await refused(ratings.follow_up(account, rating["id"], note))).error.code == "FORBIDDEN"
    assert (await refused(ratings.page(co.actor(), levels=[], needs_follow_up=None, department_code=MAIN,
                                       cursor=None, limit=20))).error.code == "FORBIDDEN"
    assert elsewhere is not None and supervisor is not None
    assert rating["id"] not in [r["id"] for r in (await ratings.page(
        elsewhere.actor(), levels=[], needs_follow_up=None, department_code=None, cursor=None, limit=50))["items"]]
    assert rating["id"] in [r["id"] for r in (await ratings.page(
        supervisor.actor(), levels=[1], needs_follow_up=None, department_code=MAIN, cursor=None, limit=50))["items"]]
    assert (await refused(ratings.follow_up(main, new_id(), note))).error is RE.RATING_NOT_FOUND

    answered = await ratings.follow_up(main, rating["id"], note)
    assert answered["needs_follow_up"] is False and answered["follow_up"]["staff_id"] == main.id
    assert await ratings.follow_up(main, rating["id"], note) == answered  # a replay
    again = await refused(ratings.follow_up(main, rating["id"], FollowUpIn(outcome="rectified", note="另一份答复")))
    assert again.error is RE.FOLLOW_UP_ALREADY_RECORDED and again.extra["follow_up"]["outcome"] == "explained"

    seen = (await ratings.status(me, case_id))["rating"]["follow_up"]
    assert seen["note"] == note.note and seen["department_name"] and "staff_id" not in seen  # no staff names

    after = await ratings.summary(main.actor())
    [row_before] = before["rows"] or [{"total": 0, "levels": {"1": 0}}]
    [row] = after["rows"]
    assert row["department_code"] == MAIN and row["total"] == row_before["total"] + 1
    assert row["levels"]["1"] == row_before["levels"]["1"] + 1
    assert row["satisfaction_rate"] == round(row["satisfied"] / row["total"], 4)


async def test_a_good_rating_owes_nothing_and_the_list_pages(deps: Dependencies, demo_catalogue: object,
                                                             ratings: Ratings) -> None:
    main = (await world(deps))["main"]
    ids = []
    for level in (5, 4, 3):
        case_id, me = await case_on_road(deps, "not_accepted")
        ids.append((await ratings.rate(me, case_id, RatingIn(level=level)))["rating"]["id"])
    assert (await refused(ratings.follow_up(main, ids[0], FollowUpIn(outcome="rectified", note="无需整改的好评")))
            ).error is RE.FOLLOW_UP_NOT_NEEDED
    seen: list[str] = []
    cursor = None
    for _ in range(3):
        page = await ratings.page(main.actor(), levels=[3, 4, 5], needs_follow_up=False, department_code=None,
                                  cursor=cursor, limit=1)
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
    assert seen == ids[::-1]  # newest first, one per page, nothing twice
    wrong = await refused(ratings.page(main.actor(), levels=[1], needs_follow_up=False, department_code=None,
                                       cursor=cursor, limit=1))
    assert [e.errcode for e in wrong.errors] == ["CURSOR_INVALID"]  # a cursor of other filters
