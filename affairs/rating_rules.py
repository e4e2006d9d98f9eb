"""The rules of rating a case (政务服务"好差评"), pure: who may rate when, what a rating holds, what a 差评 owes.

- Levels follow the national 好差评 standard: 5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意. 1–2 are
  差评: they need a comment (the department must know what to put right) and owe a follow-up (回访整改) by the
  case's implementing department within `FOLLOW_UP_WORKING_DAYS`.
- A case is rateable once it has ended: completed (办结), denied (不予许可) or not accepted (不予受理) — a
  refusal is service too, and often the one people most want to rate. Withdrawn cases are not: nothing was
  decided. The window runs `window_days` calendar days from the end (ZSB_RATING_WINDOW_DAYS).
- One rating per case. The same rating again is a replay (same answer); a different one is refused.
- 满意率 = (5 + 4 + 3) / total, as the national statistics count it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from enum import IntEnum, StrEnum
from typing import Any

from affairs import rating_errors as RE
from affairs.case_states import LABELS, CaseState
from affairs.workdays import WorkCalendar, shanghai_date
from core.errors import VALIDATION_FAILED, AppError, FieldError
from core.masking import mask_text


class Level(IntEnum):
    VERY_DISSATISFIED = 1
    DISSATISFIED = 2
    BASICALLY_SATISFIED = 3
    SATISFIED = 4
    VERY_SATISFIED = 5


LEVEL_LABELS: dict[int, str] = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
BAD = frozenset({Level.VERY_DISSATISFIED, Level.DISSATISFIED})  # 差评
SATISFIED = frozenset({Level.BASICALLY_SATISFIED, Level.SATISFIED, Level.VERY_SATISFIED})

# A fixed vocabulary, so tags can be counted; anything else goes in the comment.
TAGS = ("办事效率高", "服务态度好", "材料要求清楚", "流程简便", "一次办成",
        "办理时间长", "多次补正", "指南不清楚", "服务态度差", "线上操作不便", "结果不满意")
MAX_TAGS = 6
MAX_COMMENT = 500

RATEABLE = frozenset({CaseState.COMPLETED, CaseState.DENIED, CaseState.NOT_ACCEPTED})
# Our deadline for a 差评's follow-up, in working days from the rating (a choice of ours, see docs/ratings.md).
FOLLOW_UP_WORKING_DAYS = 15


class Outcome(StrEnum):
    RECTIFIED = "rectified"  # 已整改: the cause was put right
    EXPLAINED = "explained"  # 已解释说明: no fault, or no legal basis for the request; explained to the person


OUTCOME_LABELS: dict[str, str] = {Outcome.RECTIFIED: "已整改", Outcome.EXPLAINED: "已解释说明"}


def ended_at(case: Mapping[str, Any]) -> datetime | None:
    """When the case ended (办结, 不予许可 or 不予受理), or None while it is open or if it was withdrawn."""
    if case.get("state") not in RATEABLE:
        return None
    return case.get("completed_at") or case.get("decided_at")


def rate_until(case: Mapping[str, Any], window_days: int) -> datetime | None:
    end = ended_at(case)
    return end + timedelta(days=window_days) if end is not None else None


def why_not_rateable(case: Mapping[str, Any], now: datetime, window_days: int) -> AppError | None:
    """None when the applicant may rate the case now; otherwise the refusal to raise (or show)."""
    state = CaseState(case["state"])
    until = rate_until(case, window_days)
    if until is None:
        errmsg = "已撤回的办件不参与评价" if state is CaseState.WITHDRAWN else "办件办结后才能评价"
        return AppError(RE.RATING_NOT_OPEN, errmsg=errmsg, extra={"state": state.value,
                                                                  "state_label": LABELS[state]})
    if now > until:
        return AppError(RE.RATING_WINDOW_CLOSED, errmsg=f"已超过评价期限（办结后 {window_days} 天内可评价）",
                        extra={"rate_until": until.isoformat()})
    return None


def normalise(level: int, tags: list[str], comment: str | None) -> dict[str, Any]:
    """The stored form of a rating: tags once each in the order given, the comment trimmed and masked (a
    resident may type a phone number; no full number rests in the database), an empty comment as None.
    Raises 422 when a 差评 has no comment."""
    text = mask_text(comment.strip()) if comment and comment.strip() else None
    if level in BAD and text is None:
        raise AppError(VALIDATION_FAILED, errors=[FieldError(
            "comment", "COMMENT_REQUIRED", "不满意的评价请写明原因，便于部门整改")])
    return {"level": level, "tags": list(dict.fromkeys(tags)), "comment": text}


def same_rating(stored: Mapping[str, Any], given: Mapping[str, Any]) -> bool:
    """A replay: the same level, the same tags (in any order) and the same comment."""
    return (stored["level"] == given["level"] and sorted(stored["tags"]) == sorted(given["tags"])
            and stored["comment"] == given["comment"])


def follow_up_due(calendar: WorkCalendar, rated_at: datetime) -> date:
    return calendar.add_working_days(shanghai_date(rated_at), FOLLOW_UP_WORKING_DAYS)


def satisfaction(counts: Mapping[int, int]) -> dict[str, Any]:
    """Counts per level → the summary row: total, 满意 (3–5), 差评 (1–2) and 满意率 (None with no rating)."""
    per_level = {str(level): int(counts.get(level, 0)) for level in sorted(LEVEL_LABELS, reverse=True)}
    total = sum(per_level.values())
    satisfied = sum(int(counts.get(level, 0)) for level in SATISFIED)
    return {"total": total, "levels": per_level, "satisfied": satisfied, "bad": total - satisfied,
            "satisfaction_rate": round(satisfied / total, 4) if total else None}
