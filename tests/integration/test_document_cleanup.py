"""The clean-up job at frozen times (`now` passed in): a dry-run report first, then deletion from S3 and the
database of slots never confirmed (24 h) and documents never attached (30 days); a second run deletes nothing,
a run after a crash half-way finishes the job. Runs on a database and a bucket of its own, so the counts are
exactly this test's."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from config.settings import Settings
from config.wiring import Dependencies
from core.errors import AppError
from core.ids import new_id
from notifications.celery_app import create_celery
from storage.cleanup import DocumentCleanup
from storage.cleanup_tasks import CLEANUP_TASK, run_cleanup
from storage.document_checks import Purpose
from storage.document_service import Documents
from storage.documents import DocumentRepository
from tests.support.documents import EXE, photo

JPEG = photo()
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


@pytest.fixture
async def documents(deps: Dependencies) -> AsyncIterator[Documents]:
    name = f"zsb-cleanup-{secrets.token_hex(4)}"
    await deps.objects.ensure_buckets([name])
    repo = DocumentRepository(deps.mongo[name.replace("-", "_")])
    await repo.ensure_indexes()
    isolated = Documents(repo, deps.objects, name)
    yield isolated
    isolated.close()
    await deps.mongo.drop_database(repo.db.name)


async def uploaded(documents: Documents, owner: str, data: bytes, *, confirm: bool = True) -> str:
    slot = await documents.create_slot(owner, Purpose.PHOTO, "a.jpg", len(data), "image/jpeg", "put")
    async with httpx.AsyncClient() as phone:
        assert (await phone.put(slot.url, content=data, headers=slot.headers)).status_code == 200
    if confirm:
        try:
            await documents.confirm(owner, slot.document["_id"])
        except AppError:
            pass  # rejected: what the test wants for the .exe
    return slot.document["_id"]


def cleanup(documents: Documents) -> DocumentCleanup:
    return DocumentCleanup(documents, pending_ttl=24 * HOUR, unattached_ttl=30 * DAY, batch=2)


def counts(report: dict[str, object]) -> dict[str, int]:
    return {name: c["count"] for name, c in report["would_delete"].items()}  # type: ignore[attr-defined]


async def test_report_then_delete_then_nothing(documents: Documents) -> None:
    owner, t0 = new_id(), datetime.now(UTC)
    never_uploaded = (await documents.create_slot(owner, Purpose.PHOTO, "a.jpg", 5000, "image/jpeg", "post")
                      ).document["_id"]
    never_confirmed = await uploaded(documents, owner, JPEG, confirm=False)
    rejected = await uploaded(documents, owner, EXE)
    unattached, attached = await uploaded(documents, owner, JPEG), await uploaded(documents, owner, JPEG)
    await documents.attach(owner, [attached], "case-1", "M01")
    job = cleanup(documents)

    assert counts((await job.report(t0 + HOUR)).as_dict()) == dict.fromkeys(
        ("interrupted", "stale_slots", "rejected", "unattached", "stale_uploads"), 0)
    dry = (await job.run(t0 + 25 * HOUR, dry_run=True)).as_dict()
    assert counts(dry) == {"interrupted": 0, "stale_slots": 2, "rejected": 1, "unattached": 0, "stale_uploads": 1}
    assert dry["would_delete"]["stale_slots"]["bytes"] == 5000 + len(JPEG)  # declared sizes
    assert sorted(dry["would_delete"]["stale_slots"]["sample"]) == sorted([never_uploaded, never_confirmed])
    assert dry["dry_run"] is True and dry["deleted"] == {}
    assert (await documents.get(owner, never_confirmed))["state"] == "pending"  # a dry run deletes nothing

    done = (await job.run(t0 + 25 * HOUR)).as_dict()
    assert done["deleted"] == {"interrupted": 0, "stale_slots": 2, "rejected": 1, "unattached": 0,
                               "stale_uploads": 0}  # the upload went with its slot
    for gone in (never_uploaded, never_confirmed, rejected):
        assert await documents.repo.collection.find_one({"_id": gone}) is None
    assert await documents.objects.stat(documents.bucket, f"incoming/{owner}/{never_confirmed}") is None
    again = (await job.run(t0 + 25 * HOUR)).as_dict()
    assert set(again["deleted"].values()) == {0} and set(counts(again).values()) == {0}

    month = (await job.run(t0 + 31 * DAY)).as_dict()
    assert month["would_delete"]["unattached"]["count"] == 1
    assert month["would_delete"]["unattached"]["bytes"] > 0 and month["deleted"]["unattached"] == 1
    assert await documents.repo.collection.find_one({"_id": unattached}) is None
    assert await documents.objects.stat(documents.bucket, f"documents/{owner}/{unattached}") is None
    assert (await documents.get(owner, attached))["case_id"] == "case-1"  # on a case: kept, however old
    assert await documents.objects.stat(documents.bucket, f"documents/{owner}/{attached}") is not None


async def test_a_detached_document_gets_thirty_days_again(documents: Documents) -> None:
    owner, t0 = new_id(), datetime.now(UTC)
    document_id = await uploaded(documents, owner, JPEG)
    await documents.attach(owner, [document_id], "case-1", "M01")
    await documents.detach(owner, [document_id], "case-1")
    assert (await cleanup(documents).run(t0 + 29 * DAY)).deleted["unattached"] == 0
    assert (await cleanup(documents).run(t0 + 31 * DAY)).deleted["unattached"] == 1


async def test_a_crash_half_way_is_finished_by_the_next_run(documents: Documents) -> None:
    owner, t0 = new_id(), datetime.now(UTC)
    document_id = await uploaded(documents, owner, JPEG)
    claimed = await documents.repo.mark_deleting({"_id": document_id}, limit=1, now=t0)  # then the worker died
    assert claimed and await documents.objects.stat(documents.bucket, claimed[0]["object_key"]) is not None
    with pytest.raises(AppError):
        await documents.get(owner, document_id)  # already gone for its owner
    with pytest.raises(AppError):
        await documents.attach(owner, [document_id], "case-1", "M01")  # and never attached again
    report = await cleanup(documents).run(t0)
    assert report.would_delete["interrupted"].count == 1 and report.deleted["interrupted"] == 1
    assert await documents.repo.collection.find_one({"_id": document_id}) is None
    assert await documents.objects.stat(documents.bucket, claimed[0]["object_key"]) is None


async def test_stray_uploads_are_swept_like_a_lifecycle_rule(documents: Documents) -> None:
    t0 = datetime.now(UTC)
    stray = f"incoming/{new_id()}/{new_id()}"  # e.g. left by a crash between confirmation and its removal
    kept = f"documents/{new_id()}/{new_id()}"
    for key in (stray, kept):
        await documents.objects.put_bytes(documents.bucket, key, JPEG, "image/jpeg")
    assert (await cleanup(documents).run(t0 + HOUR)).deleted["stale_uploads"] == 0  # still young
    report = await cleanup(documents).run(t0 + 25 * HOUR)
    assert report.would_delete["stale_uploads"].sample == [stray] and report.deleted["stale_uploads"] == 1
    assert await documents.objects.stat(documents.bucket, stray) is None
    assert await documents.objects.stat(documents.bucket, kept) is not None


async def test_the_beat_task_is_scheduled_and_runs(settings: Settings, deps: Dependencies) -> None:
    app = create_celery(settings)
    entry = app.conf.beat_schedule["document-cleanup"]
    assert (entry["task"], entry["options"]["queue"]) == (CLEANUP_TASK, "bulk")
    assert "storage.cleanup_tasks" in app.conf.include  # the worker registers the task
    assert entry["schedule"].is_due(datetime.now(UTC) - 2 * HOUR)[1] <= 3600  # hourly
    report = await run_cleanup(settings, dry_run=True)  # the task's own clients, on the session's database
    assert report["dry_run"] is True and report["deleted"] == {}
    assert set(report["would_delete"]) == {"interrupted", "stale_slots", "rejected", "unattached", "stale_uploads"}
