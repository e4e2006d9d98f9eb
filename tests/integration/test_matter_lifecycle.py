"""The life of a matter against the real database: transitions (legal and illegal), immutable versions, the
audit trail, authorization, reference checks, a publish finished after a crash, and cache invalidation."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.scopes import Actor
from affairs.demo_catalogue import SeedReport
from affairs.demo_kit import DEPT
from affairs.matter_access import SYSTEM_ACTOR
from affairs.matters import MatterAdmin
from config.wiring import Dependencies
from core.errors import AppError
from tests.support.catalogue import dept_admin_actor, guide_of, new_matter

CIVIL = DEPT["nx_civil"]


@pytest.fixture
def admin(deps: Dependencies, demo_catalogue: SeedReport) -> MatterAdmin:
    return deps.catalogue.admin


async def _errcode(call: Any) -> str:
    with pytest.raises(AppError) as caught:
        await call
    return caught.value.error.code


async def _published(admin: MatterAdmin, body: dict[str, Any], actor: Actor) -> dict[str, Any]:
    await admin.create(actor, body)
    await admin.submit(actor, body["code"])
    return await admin.publish(actor, body["code"])


async def test_transitions_and_illegal_ones(admin: MatterAdmin) -> None:
    actor, body = dept_admin_actor(CIVIL), new_matter()
    code = body["code"]
    created = await admin.create(actor, body)
    assert created["draft"]["state"] == "draft" and created["draft"]["version"] == 1
    assert await _errcode(admin.create(actor, body)) == "MATTER_CODE_TAKEN"
    assert await _errcode(admin.publish(actor, code)) == "MATTER_STATE_CONFLICT"  # not submitted yet
    assert await _errcode(admin.withdraw(actor, code)) == "MATTER_STATE_CONFLICT"  # never published
    await admin.submit(actor, code)
    assert await _errcode(admin.submit(actor, code)) == "MATTER_STATE_CONFLICT"  # already under review
    published = await admin.publish(actor, code)
    assert published["publication"] == "published" and published["draft"] is None and published["listed"]
    assert await _errcode(admin.publish(actor, code)) == "MATTER_STATE_CONFLICT"  # nothing left to publish
    assert await _errcode(admin.submit(actor, code)) == "MATTER_STATE_CONFLICT"  # no draft
    withdrawn = await admin.withdraw(actor, code)
    assert withdrawn["publication"] == "withdrawn" and not withdrawn["listed"]
    assert await _errcode(admin.withdraw(actor, code)) == "MATTER_STATE_CONFLICT"
    assert await _errcode(admin.submit(actor, "NO-SUCH-MATTER")) == "MATTER_NOT_FOUND"


async def test_editing_under_review_sends_the_draft_back(admin: MatterAdmin) -> None:
    actor, body = dept_admin_actor(CIVIL), new_matter()
    await admin.create(actor, body)
    await admin.submit(actor, body["code"])
    edited = await admin.edit(actor, body["code"], guide_of(body) | {"promised_days": 10})
    assert edited["draft"]["state"] == "draft" and edited["draft"]["guide"]["promised_days"] == 10
    assert await _errcode(admin.publish(actor, body["code"])) == "MATTER_STATE_CONFLICT"


async def test_a_published_version_never_changes(admin: MatterAdmin, deps: Dependencies) -> None:
    actor, body = dept_admin_actor(CIVIL), new_matter()
    code = body["code"]
    await _published(admin, body, actor)
    v1 = await admin.versions.get(code, 1)
    assert v1 is not None
    draft = await admin.edit(actor, code, guide_of(body) | {"summary": "第二版的简介。"})
    assert draft["draft"]["version"] == 2 and draft["publication"] == "published"
    live = await deps.catalogue.reader.guide(code)
    assert live.etag == v1["etag"]  # the draft is not public until published
    await admin.submit(actor, code)
    after = await admin.publish(actor, code)
    assert after["published"]["version"] == 2 and after["latest_version"] == 2
    assert await admin.versions.get(code, 1) == v1  # byte for byte what was published first
    assert (await admin.versions.get(code, 2))["guide"]["summary"] == "第二版的简介。"
    assert await admin.versions.numbers(code) == [1, 2]
    assert (await deps.catalogue.reader.guide(code)).etag != v1["etag"]  # this process's cache was dropped


async def test_every_change_is_audited_with_states_and_versions(admin: MatterAdmin, deps: Dependencies) -> None:
    actor, body = dept_admin_actor(CIVIL), new_matter()
    await _published(admin, body, actor)
    await admin.withdraw(actor, body["code"])
    entries = await deps.catalogue.admin.audit.for_subject("matter", body["code"])
    assert [e.action for e in entries] == ["matter.create", "matter.submit", "matter.publish", "matter.withdraw"]
    assert {e.actor for e in entries} == {actor.staff_id} and entries[0].actor_department == CIVIL
    publish = entries[2]
    assert publish.before == {"status": "under_review", "draft_state": "under_review", "draft_version": 1,
                              "published_version": None, "revision": 1}
    assert publish.after["status"] == "published" and publish.after["published_version"] == 1
    assert publish.detail["etag"].startswith('"v1-')
    assert entries[3].after["status"] == "withdrawn"


async def test_only_the_owning_department_admin_may_change(admin: MatterAdmin) -> None:
    body = new_matter()
    police_admin = dept_admin_actor(DEPT["nx_police"])
    assert await _errcode(admin.create(police_admin, body)) == "FORBIDDEN"
    await admin.create(dept_admin_actor(CIVIL), body)
    assert await _errcode(admin.submit(police_admin, body["code"])) == "FORBIDDEN"
    plain_staff = Actor(roles=frozenset({"staff"}), staff_id="s1", department_id=CIVIL, region_code="430182")
    assert await _errcode(admin.submit(plain_staff, body["code"])) == "FORBIDDEN"
    assert await admin.get(SYSTEM_ACTOR, body["code"])  # the seed's system actor passes


async def test_references_are_checked_with_every_other_field(admin: MatterAdmin) -> None:
    body = new_matter(department_code="11430182000000000X", region_code="430199", statutory_days=0)
    with pytest.raises(AppError) as caught:
        await admin.create(dept_admin_actor(CIVIL), body)
    fields = {e.field: e.errcode for e in caught.value.errors}
    assert fields["region_code"] == "REGION_UNKNOWN" and fields["statutory_days"] == "GREATER_THAN"
    assert "department_code" in fields
    outside = new_matter(region_code="430104")  # 宁乡市民政局 cannot publish for 岳麓区
    with pytest.raises(AppError) as caught:
        await admin.create(dept_admin_actor(CIVIL), outside)
    assert [(e.field, e.errcode) for e in caught.value.errors] == [("region_code", "REGION_OUTSIDE_DEPARTMENT")]
    former = await admin.create(dept_admin_actor(CIVIL), new_matter(region_code="430124"))
    assert former["draft"]["guide"]["region_code"] == "430182"  # stored under the current code


async def test_department_cannot_be_changed_by_an_edit(admin: MatterAdmin) -> None:
    actor, body = dept_admin_actor(CIVIL), new_matter()
    await admin.create(actor, body)
    moved = guide_of(body) | {"department_code": DEPT["nx_police"]}
    with pytest.raises(AppError) as caught:
        await admin.edit(actor, body["code"], moved)
    assert caught.value.errors[0].errcode == "DEPARTMENT_CHANGE_NOT_ALLOWED"


async def test_a_publish_that_died_half_way_is_finished_by_publishing_again(admin: MatterAdmin,
                                                                             deps: Dependencies) -> None:
    actor, body = dept_admin_actor(CIVIL), new_matter()
    code = body["code"]
    await admin.create(actor, body)
    await admin.submit(actor, code)
    # As if a process claimed the draft and wrote the version, then died before switching the matter to it.
    doc = await admin.matters.get(code)
    await admin.matters.update(code, revision=doc["revision"], changes={"draft.state": "publishing"},
                               now=doc["updated_at"])
    assert await _errcode(admin.edit(actor, code, guide_of(body))) == "MATTER_STATE_CONFLICT"
    finished = await admin.publish(actor, code)
    assert finished["publication"] == "published" and finished["published"]["version"] == 1
    assert (await deps.catalogue.reader.guide(code)).etag == finished["published"]["etag"]


async def test_a_stale_revision_is_refused(admin: MatterAdmin) -> None:
    actor, body = dept_admin_actor(CIVIL), new_matter()
    created = await admin.create(actor, body)
    await admin.edit(actor, body["code"], guide_of(body))
    stale = await admin.matters.update(body["code"], revision=created["revision"], changes={"x": 1},
                                       now=created["updated_at"])
    assert stale is None
