"""The life of a matter: draft → under_review → published → withdrawn, with immutable published versions.

- `create` makes draft version 1. `edit` replaces the guide of the working draft; after a publish it opens the
  next version's draft while the published version stays live. Editing a draft under review sends it back to
  `draft` (it must be submitted again), so a reviewer never publishes text they did not see submitted.
- `submit` moves the draft to `under_review`; `publish` freezes it as version N in `matter_versions` (never
  changed again: cases reference `<code>@N`) and makes it the live guide; `withdraw` takes the live guide
  out of lists and guide reads (published versions stay readable for the cases that cite them). A withdrawn
  matter comes back by publishing a new version.
- Publishing is two writes without a transaction (the claim makes it safe without one): the draft is first
  claimed (`publishing`, which refuses edits), then the version is written, then the matter switches to it. A
  publish that dies half-way is finished by publishing again: the version write is idempotent (same content,
  same ETag).
- Every change is conditional on the revision read (409 CONFLICT when someone changed the matter meanwhile),
  authorized by `affairs.matter_access`, and audited (`affairs.audit`) with the state and versions before and
  after.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from accounts.scopes import Actor
from affairs import errors as AF
from affairs.audit import AuditRepository
from affairs.departments import DepartmentRepository
from affairs.matter_access import actor_id, authorize_matter_change
from affairs.matter_checks import check_guide
from affairs.matter_model import MatterCreate, MatterGuide
from affairs.matter_repository import MatterRepository, MatterVersionRepository
from affairs.published import build_version, listing_fields
from affairs.regions import RegionRepository
from core.clock import bson_time
from core.errors import CONFLICT, VALIDATION_FAILED, AppError, FieldError


class DraftState(StrEnum):
    DRAFT = "draft"
    UNDER_REVIEW = "under_review"
    PUBLISHING = "publishing"  # claimed by a publish in progress; shown as under_review


class Publication(StrEnum):
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"



def status_of(doc: dict[str, Any]) -> str:
    """The matter's status as staff see it: its publication if it ever was published, else its draft's state."""
    if doc.get("publication"):
        return doc["publication"]
    state = (doc.get("draft") or {}).get("state", DraftState.DRAFT)
    return DraftState.UNDER_REVIEW.value if state == DraftState.PUBLISHING else state


def snapshot(doc: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the audit trail records of a matter before and after a change."""
    if doc is None:
        return None
    draft = doc.get("draft") or {}
    return {"status": status_of(doc), "draft_state": draft.get("state"), "draft_version": draft.get("version"),
            "published_version": (doc.get("published") or {}).get("version") if doc.get("listed") else None,
            "revision": doc.get("revision")}


def draft_of(version: int, state: DraftState, guide: MatterGuide, actor: Actor, now: datetime) -> dict[str, Any]:
    body = guide.model_dump(mode="json", exclude={"code"})
    return {"version": version, "state": state.value, "guide": body, "updated_at": now,
            "updated_by": actor_id(actor)}


def new_matter_document(new: MatterCreate, department_code: str, actor: Actor, now: datetime) -> dict[str, Any]:
    """A matter as created: no publication, draft version 1 (shared by `create` and the xlsx import)."""
    return {
        "_id": new.code, "department_code": department_code, "revision": 0, "created_at": now,
        "updated_at": now, "created_by": actor_id(actor), "publication": None, "listed": False,
        "published": None, "latest_version": 0,
        "draft": draft_of(1, DraftState.DRAFT, new, actor, now),
    }


def edited_draft(doc: dict[str, Any], guide: MatterGuide, actor: Actor, now: datetime) -> dict[str, Any]:
    """The working draft after an edit: the same version while a draft is open, else the next version."""
    draft = doc.get("draft")
    if draft and draft["state"] == DraftState.PUBLISHING:
        raise AppError(AF.MATTER_STATE_CONFLICT, errmsg="事项正在发布，请稍后再修改")
    version = draft["version"] if draft else doc["latest_version"] + 1
    return draft_of(version, DraftState.DRAFT, guide, actor, now)


@dataclass
class MatterAdmin:
    """Staff operations on matters. `on_published_change(code)` runs after a publish or withdraw (the guide
    cache of this process drops the code)."""

    matters: MatterRepository
    versions: MatterVersionRepository
    departments: DepartmentRepository
    regions: RegionRepository
    audit: AuditRepository
    on_published_change: Callable[[str], None] = lambda code: None

    async def get(self, actor: Actor, code: str) -> dict[str, Any]:
        doc = await self._load(code)
        authorize_matter_change(actor, doc["department_code"])
        return doc

    async def create(self, actor: Actor, raw: Any) -> dict[str, Any]:
        new, department, _ = await check_guide(raw, MatterCreate, departments=self.departments, regions=self.regions)
        authorize_matter_change(actor, department.code)
        doc = new_matter_document(new, department.code, actor, bson_time())
        if not await self.matters.insert(doc):
            raise AppError(AF.MATTER_CODE_TAKEN)
        await self._audit(actor, "matter.create", new.code, None, doc)
        return doc

    async def edit(self, actor: Actor, code: str, raw: Any) -> dict[str, Any]:
        doc = await self._load(code)
        authorize_matter_change(actor, doc["department_code"])
        guide, department, _ = await check_guide(raw, MatterGuide, departments=self.departments, regions=self.regions)
        if department.code != doc["department_code"]:
            raise AppError(VALIDATION_FAILED, errors=[FieldError(
                "department_code", "DEPARTMENT_CHANGE_NOT_ALLOWED", "事项的实施部门不能更改，如需移交请联系系统管理员")])
        now = bson_time()
        after = await self._update(doc, {"draft": edited_draft(doc, guide, actor, now)}, now)
        await self._audit(actor, "matter.edit", code, doc, after)
        return after

    async def submit(self, actor: Actor, code: str) -> dict[str, Any]:
        doc = await self._load(code)
        authorize_matter_change(actor, doc["department_code"])
        draft = doc.get("draft")
        if not draft or draft["state"] != DraftState.DRAFT:
            raise AppError(AF.MATTER_STATE_CONFLICT, errmsg="没有待提交的草稿" if not draft else "草稿已提交审核")
        now = bson_time()
        after = await self._update(doc, {"draft.state": DraftState.UNDER_REVIEW.value}, now)
        await self._audit(actor, "matter.submit", code, doc, after)
        return after

    async def publish(self, actor: Actor, code: str) -> dict[str, Any]:
        doc = await self._load(code)
        authorize_matter_change(actor, doc["department_code"])
        draft = doc.get("draft")
        if not draft or draft["state"] == DraftState.DRAFT:
            raise AppError(AF.MATTER_STATE_CONFLICT,
                           errmsg="草稿须先提交审核才能发布" if draft else "没有待发布的版本，请先编辑并提交审核")
        guide = MatterGuide.model_validate(draft["guide"])
        department = await self.departments.get(guide.department_code)
        region = await self.regions.get(guide.region_code)
        if department is None or region is None:  # removed from the tree after the draft was checked
            raise AppError(AF.MATTER_STATE_CONFLICT, errmsg="实施部门或适用区划已不存在，请修改草稿后重新提交")
        before = doc
        now = bson_time()
        if draft["state"] == DraftState.UNDER_REVIEW:
            doc = await self._update(doc, {"draft.state": DraftState.PUBLISHING.value}, now)
        version_doc = build_version(code, draft["version"], guide, department, region, actor_id(actor), now)
        stored = await self.versions.insert_once(version_doc)
        if stored["etag"] != version_doc["etag"]:
            raise AppError(CONFLICT, errmsg=f"第 {draft['version']} 版已以其他内容发布，请刷新后重试")
        listing = await listing_fields(stored, guide)
        after = await self._update(doc, {
            "draft": None, "publication": Publication.PUBLISHED.value, "listed": True,
            "latest_version": stored["version"], "published": listing,
        }, now)
        self.on_published_change(code)
        await self._audit(actor, "matter.publish", code, before, after, etag=stored["etag"])
        return after

    async def withdraw(self, actor: Actor, code: str) -> dict[str, Any]:
        doc = await self._load(code)
        authorize_matter_change(actor, doc["department_code"])
        if doc.get("publication") != Publication.PUBLISHED:
            raise AppError(AF.MATTER_STATE_CONFLICT, errmsg="只有已发布的事项可以撤回")
        now = bson_time()
        after = await self._update(doc, {"publication": Publication.WITHDRAWN.value, "listed": False}, now)
        self.on_published_change(code)
        await self._audit(actor, "matter.withdraw", code, doc, after)
        return after

    # -- helpers --------------------------------------------------------------------------------------------
    async def _load(self, code: str) -> dict[str, Any]:
        doc = await self.matters.get(code)
        if doc is None:
            raise AppError(AF.MATTER_NOT_FOUND)
        return doc

    async def _update(self, doc: dict[str, Any], changes: dict[str, Any], now: datetime) -> dict[str, Any]:
        after = await self.matters.update(doc["_id"], revision=doc["revision"], changes=changes, now=now)
        if after is None:
            raise AppError(CONFLICT)
        return after

    async def _audit(self, actor: Actor, action: str, code: str, before: dict[str, Any] | None,
                     after: dict[str, Any], **detail: Any) -> None:
        await self.audit.append(actor=actor_id(actor), actor_department=actor.department_id, action=action,
                                kind="matter", key=code, before=snapshot(before), after=snapshot(after),
                                detail={"revision": after["revision"], **detail})
