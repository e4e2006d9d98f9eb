"""Ratings of service (好差评) on ended cases, and the follow-up (差评整改) a bad one owes its department.

The applicant rates their own case (someone else's is 404 like a missing one, accounts/scopes.py); staff of
the case's implementing department list their department's ratings and record a 差评's follow-up once; a
supervisor reads ratings and the summary of their region subtree. The rules are in affairs/rating_rules.py; the
invitation to rate is recorded with the step that ends the case (affairs/rating_invites.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from accounts import errors as AE
from accounts.regions import region_prefix
from accounts.scopes import Action, Actor, Kind, Resource, authorize, visible_scope
from accounts.staff import StaffAccount
from affairs import rating_errors as RE
from affairs.case_repository import CaseRepository
from affairs.case_states import LABELS, CaseState
from affairs.rating_inputs import FollowUpIn, RatingIn
from affairs.rating_repository import RatingRepository
from affairs.rating_rules import (
    BAD,
    LEVEL_LABELS,
    OUTCOME_LABELS,
    ended_at,
    follow_up_due,
    normalise,
    rate_until,
    same_rating,
    satisfaction,
    why_not_rateable,
)
from affairs.workdays import WorkCalendar
from core.clock import bson_time
from core.cursors import CursorInvalid, decode_cursor, encode_cursor
from core.errors import FORBIDDEN, VALIDATION_FAILED, AppError, FieldError
from core.ids import new_id
from core.masking import mask_text


class Ratings:
    def __init__(self, *, cases: CaseRepository, ratings: RatingRepository, calendar: WorkCalendar,
                 window_days: int) -> None:
        self.cases, self.ratings, self.calendar, self.window_days = cases, ratings, calendar, window_days
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)

    @classmethod
    def build(cls, db: AsyncDatabase[dict[str, Any]], *, calendar: WorkCalendar, window_days: int) -> Ratings:
        return cls(cases=CaseRepository(db), ratings=RatingRepository(db), calendar=calendar,
                   window_days=window_days)

    # -- the applicant ---------------------------------------------------------------------------------------
    async def _own_case(self, actor: Actor, case_id: str, action: str) -> dict[str, Any]:
        case = await self.cases.get(case_id)
        if case is None:  # the same 404 as someone else's case (the scope check's answer to a resident)
            raise AppError(AE.RESOURCE_NOT_FOUND)
        authorize(actor, action, Resource(kind=Kind.CASE, id=case_id, owner_person_id=case["applicant_person_id"]))
        return case

    async def status(self, actor: Actor, case_id: str) -> dict[str, Any]:
        """The rating of my case, or whether and until when I may still give one."""
        case = await self._own_case(actor, case_id, Action.READ)
        return self._status(case, await self.ratings.of_case(case_id))

    async def rate(self, actor: Actor, case_id: str, body: RatingIn) -> dict[str, Any]:
        """Rate my ended case once. The same rating again answers as the first time; another one is 409."""
        case = await self._own_case(actor, case_id, Action.ACT)
        given = normalise(body.level, body.tags, body.comment)
        existing = await self.ratings.of_case(case_id)
        if existing is None:
            now = bson_time(self.now())
            refusal = why_not_rateable(case, now, self.window_days)
            if refusal is not None:
                raise refusal
            doc = self._new(case, given, now)
            existing = await self.ratings.insert(doc)
            if existing is doc:
                return self._status(case, doc)
        if not same_rating(existing, given):
            raise AppError(RE.RATING_ALREADY_GIVEN, extra={"rating": jsonable(rating_view(existing))})
        return self._status(case, existing)

    def _new(self, case: dict[str, Any], given: dict[str, Any], now: datetime) -> dict[str, Any]:
        bad = given["level"] in BAD
        return {
            "_id": new_id(), "case_id": case["_id"], "person_id": case["applicant_person_id"],
            "department_code": case["matter"]["department_code"],
            "department_name": case["matter"]["department_name"],
            "region_code": case["region_code"], "region_prefix": case["region_prefix"],
            "matter": {"code": case["matter"]["code"], "name": case["matter"]["name"]},
            "receipt_no": case.get("receipt_no"), "case_state": case["state"], "ended_at": ended_at(case),
            **given, "rated_at": now, "needs_follow_up": bad,
            "follow_up_due_date": follow_up_due(self.calendar, now).isoformat() if bad else None,
            "follow_up": None,
        }

    def _status(self, case: dict[str, Any], rating: dict[str, Any] | None) -> dict[str, Any]:
        refusal = None if rating else why_not_rateable(case, bson_time(self.now()), self.window_days)
        return {"case_id": case["_id"], "rateable": rating is None and refusal is None,
                "rate_until": rate_until(case, self.window_days),
                "reason": refusal.message if refusal else None,
                "rating": rating_view(rating) if rating else None}

    # -- the department --------------------------------------------------------------------------------------
    async def page(self, actor: Actor, *, levels: list[int], needs_follow_up: bool | None,
                   department_code: str | None, cursor: str | None, limit: int) -> dict[str, Any]:
        """Ratings of my department (a supervisor: of any department, or the one asked for) in my region
        subtree, newest first."""
        scope = visible_scope(actor, Kind.CASE)
        department = scope.department_id or department_code
        if scope.department_id and department_code and department_code != scope.department_id:
            raise AppError(FORBIDDEN, errmsg="只能查看本部门的评价")
        query: dict[str, Any] = {"department_code": department} if department else {}
        if needs_follow_up is not None:
            query["needs_follow_up"] = needs_follow_up
        if levels:
            query["level"] = {"$in": sorted(set(levels))}
        filters = {"staff": actor.staff_id, "department": department, "levels": sorted(set(levels)),
                   "needs_follow_up": needs_follow_up}
        if cursor:
            try:
                [last_id] = decode_cursor(cursor, filters, size=1)
            except CursorInvalid as exc:
                raise AppError(VALIDATION_FAILED, errors=[FieldError("cursor", "CURSOR_INVALID", str(exc))]) from None
            query["_id"] = {"$lt": last_id}
        subtree = region_prefix(scope.region_code) if scope.region_code else None
        rows = await self.ratings.page(query, limit=limit + 1, region_prefix=subtree)
        more, rows = len(rows) > limit, rows[:limit]
        for row in rows:  # defence in depth: the query was built from the scope, each row is checked too
            authorize(actor, Action.READ, _resource(row))
        return {"items": [rating_view(r, for_staff=True) for r in rows],
                "next_cursor": encode_cursor([rows[-1]["_id"]], filters) if more else None}

    async def follow_up(self, account: StaffAccount, rating_id: str, body: FollowUpIn) -> dict[str, Any]:
        """Record the follow-up of a 差评, once; the same record again answers the same, another is 409."""
        rating = await self.ratings.get(rating_id)
        if rating is None:
            raise AppError(RE.RATING_NOT_FOUND)
        authorize(account.actor(), Action.ACT, _resource(rating))
        if rating["level"] not in BAD:
            raise AppError(RE.FOLLOW_UP_NOT_NEEDED)
        entry = {"outcome": body.outcome.value, "note": mask_text(body.note), "at": bson_time(self.now()),
                 "staff_id": account.id, "staff_name": account.display_name}
        updated = await self.ratings.record_follow_up(rating_id, entry)
        if updated is not None:
            return rating_view(updated, for_staff=True)
        current = await self.ratings.get(rating_id) or rating  # recorded meanwhile (or replayed): read it
        recorded = current["follow_up"]
        if recorded is None or [recorded[k] for k in ("outcome", "note", "staff_id")] != [
                entry[k] for k in ("outcome", "note", "staff_id")]:
            raise AppError(RE.FOLLOW_UP_ALREADY_RECORDED, extra={
                "follow_up": jsonable(follow_up_view(recorded, current, for_staff=True)) if recorded else None})
        return rating_view(current, for_staff=True)

    async def summary(self, actor: Actor) -> dict[str, Any]:
        """Counts per level and 满意率 per department inside the caller's scope (staff: their department)."""
        scope = visible_scope(actor, Kind.CASE)
        subtree = region_prefix(scope.region_code) if scope.region_code else None
        groups = await self.ratings.counts({"department_code": scope.department_id} if scope.department_id else {})
        per_department: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        names: dict[str, str] = {}
        pending: dict[str, int] = defaultdict(int)
        overall: dict[int, int] = defaultdict(int)
        for group in groups:
            key = group["_id"]
            if subtree is not None and not key["region_prefix"].startswith(subtree):
                continue
            code = key["department_code"]
            per_department[code][key["level"]] += group["n"]
            overall[key["level"]] += group["n"]
            pending[code] += group["pending"]
            names[code] = group["department_name"]
        rows = [{"department_code": code, "department_name": names[code], **satisfaction(counts),
                 "follow_up_pending": pending[code]} for code, counts in sorted(per_department.items())]
        return {"rows": rows, "total": {**satisfaction(overall), "follow_up_pending": sum(pending.values())}}


def _resource(rating: dict[str, Any]) -> Resource:
    """A rating is checked as part of its case, owed by the case's implementing department."""
    return Resource(kind=Kind.CASE, id=rating["_id"], department_ids=(rating["department_code"],),
                    region_code=rating["region_code"])


def follow_up_view(entry: dict[str, Any], rating: dict[str, Any], *, for_staff: bool) -> dict[str, Any]:
    """Residents see the department that answered, never the staff member (as in the case timeline)."""
    view = {"outcome": entry["outcome"], "outcome_label": OUTCOME_LABELS[entry["outcome"]], "note": entry["note"],
            "at": entry["at"], "department_name": rating["department_name"]}
    if for_staff:
        view.update(staff_id=entry["staff_id"], staff_name=entry["staff_name"])
    return view


def rating_view(rating: dict[str, Any], *, for_staff: bool = False) -> dict[str, Any]:
    state = CaseState(rating["case_state"])
    return {
        "id": rating["_id"], "case_id": rating["case_id"], "receipt_no": rating["receipt_no"],
        "matter_name": rating["matter"]["name"], "department_code": rating["department_code"],
        "department_name": rating["department_name"], "region_code": rating["region_code"],
        "case_state": state.value, "case_state_label": LABELS[state], "ended_at": rating["ended_at"],
        "level": rating["level"], "level_label": LEVEL_LABELS[rating["level"]], "bad": rating["level"] in BAD,
        "tags": rating["tags"], "comment": rating["comment"], "rated_at": rating["rated_at"],
        "needs_follow_up": rating["needs_follow_up"], "follow_up_due_date": rating["follow_up_due_date"],
        "follow_up": follow_up_view(rating["follow_up"], rating, for_staff=for_staff) if rating["follow_up"] else None,
    }


def jsonable(value: Any) -> Any:
    """Times as ISO 8601, for the extra body of an error (which is written with plain json.dumps)."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
