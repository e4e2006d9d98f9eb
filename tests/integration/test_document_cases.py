"""What the case workflow calls: attach a resident's checked documents to a case material (all or none, owner
only, idempotent), detach them from a draft, and give staff a 60-second link to a document of a case they
were found allowed to see, recording every such access."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest

from accounts.scopes import Actor
from affairs.matter_model import Material
from config.wiring import Dependencies
from core.errors import AppError
from core.ids import new_id
from storage import errors as SE
from storage.document_checks import Purpose, allowed_purposes
from storage.document_service import Documents
from tests.support.documents import PDF, exif_of, photo

JPEG = photo()
STAFF = Actor(roles=frozenset({"staff"}), staff_id="staff-case-1", department_id="zwzx", region_code="430124")


async def ready_document(documents: Documents, owner: str, data: bytes = JPEG,
                         purpose: Purpose = Purpose.PHOTO, content_type: str = "image/jpeg") -> str:
    slot = await documents.create_slot(owner, purpose, "材料.jpg", len(data), content_type, "put")
    async with httpx.AsyncClient() as phone:
        assert (await phone.put(slot.url, content=data, headers=slot.headers)).status_code == 200
    await documents.confirm(owner, slot.document["_id"])
    return slot.document["_id"]


async def refused(call: object) -> AppError:
    with pytest.raises(AppError) as caught:
        await call  # type: ignore[misc]
    return caught.value


async def test_attach_all_or_none_and_idempotent(deps: Dependencies) -> None:
    docs, owner, case = deps.documents, new_id(), new_id()
    first, second = await ready_document(docs, owner), await ready_document(docs, owner)
    attached = await docs.attach(owner, [first, second, first], case, "M01")
    assert sorted(d["_id"] for d in attached) == sorted([first, second])
    assert {(d["case_id"], d["material_code"], d["unattached_since"]) for d in attached} == {(case, "M01", None)}
    again = await docs.attach(owner, [first, second], case, "M01")  # the same call again changes nothing
    assert [d["attached_at"] for d in sorted(again, key=lambda d: d["_id"])] == \
        [d["attached_at"] for d in sorted(attached, key=lambda d: d["_id"])]

    third = await ready_document(docs, owner)
    error = await refused(docs.attach(owner, [third, first], case, "M02"))  # `first` is on M01
    assert (error.error, error.extra["document_id"]) == (SE.DOCUMENT_ATTACHED, first)
    assert (await docs.get(owner, third))["case_id"] is None  # all or none: `third` was not attached either
    error = await refused(docs.attach(owner, [first], new_id(), "M01"))
    assert (error.status, error.error) == (409, SE.DOCUMENT_ATTACHED)  # on another case
    assert sorted(d["_id"] for d in await docs.case_documents(case)) == sorted([first, second])


async def test_attach_refuses_others_unconfirmed_and_wrong_kinds(deps: Dependencies) -> None:
    docs, owner, stranger, case = deps.documents, new_id(), new_id(), new_id()
    mine, theirs = await ready_document(docs, owner), await ready_document(docs, stranger)
    error = await refused(docs.attach(owner, [mine, theirs], case, "M01"))
    assert (error.status, error.error, error.extra["document_id"]) == (404, SE.DOCUMENT_NOT_FOUND, theirs)
    error = await refused(docs.attach(owner, [new_id()], case, "M01"))
    assert error.error is SE.DOCUMENT_NOT_FOUND

    pending = await docs.create_slot(owner, Purpose.PHOTO, "a.jpg", 100, "image/jpeg", "post")
    error = await refused(docs.attach(owner, [pending.document["_id"]], case, "M01"))
    assert (error.status, error.error) == (409, SE.DOCUMENT_NOT_READY)

    pdf = await ready_document(docs, owner, PDF, Purpose.PDF, "application/pdf")
    photos_only = Material(name="身份证", original_count=1, copy_count=0, source="applicant", accepts=["photo"])
    error = await refused(docs.attach(owner, [pdf], case, "M01", allowed=allowed_purposes(photos_only)))
    assert (error.status, error.error, "照片" in error.message) == (422, SE.DOCUMENT_TYPE_NOT_ALLOWED, True)
    anything = {"name": "旧版指南的材料", "original_count": 1, "copy_count": 0, "source": "applicant"}
    attached = await docs.attach(owner, [pdf, mine], case, "M01", allowed=allowed_purposes(anything))
    assert len(attached) == 2
    assert (await docs.get(stranger, theirs))["case_id"] is None


async def test_attach_joins_the_callers_transaction(deps: Dependencies) -> None:
    docs, owner, case = deps.documents, new_id(), new_id()
    document_id = await ready_document(docs, owner)
    async with deps.mongo.start_session() as session:
        async def fail_after_attaching(txn: object) -> None:
            await docs.attach(owner, [document_id], case, "M01", session=txn)  # type: ignore[arg-type]
            raise RuntimeError("the case could not be saved")

        with pytest.raises(RuntimeError):
            await session.with_transaction(fail_after_attaching)
    assert (await docs.get(owner, document_id))["case_id"] is None  # rolled back with the caller's work


async def test_concurrent_attach_to_two_cases_lets_one_win(deps: Dependencies) -> None:
    docs, owner = deps.documents, new_id()
    document_id = await ready_document(docs, owner)
    results = await asyncio.gather(docs.attach(owner, [document_id], "case-a", "M01"),
                                   docs.attach(owner, [document_id], "case-b", "M01"), return_exceptions=True)
    wins = [r for r in results if isinstance(r, list)]
    assert len(wins) == 1 and all(isinstance(r, AppError) for r in results if r not in wins)
    assert (await docs.get(owner, document_id))["case_id"] == wins[0][0]["case_id"]


async def test_detach_from_a_draft(deps: Dependencies) -> None:
    docs, owner, case = deps.documents, new_id(), new_id()
    document_id = await ready_document(docs, owner)
    await docs.attach(owner, [document_id], case, "M01")
    error = await refused(docs.detach(owner, [document_id], new_id()))
    assert error.error is SE.DOCUMENT_ATTACHED  # on another case: not this caller's to take off
    assert (await refused(docs.detach(new_id(), [document_id], case))).error is SE.DOCUMENT_NOT_FOUND
    detached = await docs.detach(owner, [document_id], case)
    assert (detached[0]["case_id"], detached[0]["material_code"]) == (None, None)
    assert detached[0]["unattached_since"] is not None  # the 30-day clean-up clock restarts
    assert (await docs.detach(owner, [document_id], case))[0]["case_id"] is None  # idempotent
    assert (await docs.attach(owner, [document_id], new_id(), "M02"))[0]["material_code"] == "M02"


async def test_staff_download_only_through_the_case_and_audited(deps: Dependencies) -> None:
    docs, owner, case = deps.documents, new_id(), new_id()
    document_id, loose = await ready_document(docs, owner), await ready_document(docs, owner)
    await docs.attach(owner, [document_id], case, "M01")

    url = await docs.staff_download_url(document_id, case, STAFF, request_id="req-1")
    async with httpx.AsyncClient() as browser:
        fetched = await browser.get(url)
    assert fetched.status_code == 200 and exif_of(fetched.content)[1] == {}  # the copy without GPS
    assert "X-Amz-Expires=60" in url

    for document, on_case in ((document_id, new_id()), (loose, case), (new_id(), case)):
        assert (await refused(docs.staff_download_url(document, on_case, STAFF))).error is SE.DOCUMENT_NOT_FOUND
    log = await docs.access_log.for_document(document_id)
    assert [(e["staff_id"], e["department_id"], e["case_id"], e["material_code"], e["owner_person_id"],
             e["request_id"]) for e in log] == [("staff-case-1", "zwzx", case, "M01", owner, "req-1")]
    assert await docs.access_log.for_document(loose) == []  # refused: no link, no entry
    assert [e["document_id"] for e in await docs.access_log.for_case(case)] == [document_id]


async def test_staff_link_expires(deps: Dependencies) -> None:
    docs, owner, case = deps.documents, new_id(), new_id()
    document_id = await ready_document(docs, owner)
    await docs.attach(owner, [document_id], case, "M01")
    url = await docs.staff_download_url(document_id, case, STAFF, expires=timedelta(seconds=1))
    await asyncio.sleep(2)
    async with httpx.AsyncClient() as browser:
        assert (await browser.get(url)).status_code == 403
