"""The pure rules of 好差评: when a case is rateable, what a rating holds, replays, the follow-up due date, 满意率,
and the invitation event the ending step records (checked against its declaration in core/outbox_topics.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from affairs import rating_errors as RE
from affairs.rating_inputs import FollowUpIn, RatingIn
from affairs.rating_invites import rating_requested_event
from affairs.rating_rules import (
    ended_at,
    follow_up_due,
    normalise,
    rate_until,
    same_rating,
    satisfaction,
    why_not_rateable,
)
from affairs.workdays import WorkCalendar
from core.errors import AppError
from core.outbox_topics import TOPICS, missing_keys
from core.validation import validate

END = datetime(2025, 9, 30, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, the Tuesday before National Day


def case(state: str, **fields: Any) -> dict[str, Any]:
    return {"_id": "01JCASE0000000000000000000", "state": state, "applicant_person_id": "01JPERSON000000000000000000",
            "matter": {"name": "不动产转移登记", "department_name": "宁乡市不动产登记中心"},
            "receipt_no": "4301822025093000001", **fields}


@pytest.mark.parametrize(("state", "fields", "expected"), [
    ("completed", {"completed_at": END}, END),
    ("denied", {"decided_at": END}, END),
    ("not_accepted", {"decided_at": END}, END),
    ("withdrawn", {}, None),
    ("in_review", {}, None),
    ("approved", {"decided_at": END}, None),  # approved is not ended: the result is still to be issued
])
def test_a_case_ends_by_completion_denial_or_refusal(state: str, fields: dict[str, Any],
                                                     expected: datetime | None) -> None:
    assert ended_at(case(state, **fields)) == expected


def test_the_window_runs_from_the_end_and_closes_after_it() -> None:
    done = case("completed", completed_at=END)
    until = rate_until(done, 30)
    assert until == END + timedelta(days=30)
    assert why_not_rateable(done, END, 30) is None
    assert why_not_rateable(done, until, 30) is None  # the last moment still counts
    closed = why_not_rateable(done, until + timedelta(milliseconds=1), 30)
    assert closed is not None and closed.error is RE.RATING_WINDOW_CLOSED
    assert closed.extra["rate_until"] == until.isoformat() and "30 天" in closed.message


@pytest.mark.parametrize(("state", "wording"), [("in_review", "办结后"), ("withdrawn", "撤回"), ("draft", "办结后")])
def test_open_and_withdrawn_cases_are_not_rateable(state: str, wording: str) -> None:
    refusal = why_not_rateable(case(state), END, 30)
    assert refusal is not None and refusal.error is RE.RATING_NOT_OPEN
    assert refusal.extra["state"] == state and wording in refusal.message


def test_a_bad_rating_needs_a_comment_and_a_good_one_does_not() -> None:
    for level in (1, 2):
        with pytest.raises(AppError) as caught:
            normalise(level, [], "   ")
        assert [e.errcode for e in caught.value.errors] == ["COMMENT_REQUIRED"]
    assert normalise(5, [], "  ") == {"level": 5, "tags": [], "comment": None}
    assert normalise(2, ["办理时间长"], " 等了很久 ")["comment"] == "等了很久"


def test_tags_are_kept_once_in_order_and_numbers_in_comments_are_masked() -> None:
    given = normalise(1, ["多次补正", "办理时间长", "多次补正"], "请打13812345678回访，身份证430124199001011234")
    assert given["tags"] == ["多次补正", "办理时间长"]
    assert "13812345678" not in given["comment"] and "138****5678" in given["comment"]
    assert "430124199001011234" not in given["comment"]


def test_a_replay_is_the_same_level_tags_in_any_order_and_comment() -> None:
    stored = normalise(4, ["流程简便", "一次办成"], "很快")
    assert same_rating(stored, normalise(4, ["一次办成", "流程简便"], " 很快"))
    assert not same_rating(stored, normalise(5, ["一次办成", "流程简便"], "很快"))
    assert not same_rating(stored, normalise(4, ["一次办成"], "很快"))
    assert not same_rating(stored, normalise(4, ["一次办成", "流程简便"], "还行"))


def test_the_request_models_refuse_unknown_tags_levels_and_short_notes() -> None:
    with pytest.raises(AppError) as caught:
        validate(RatingIn, {"level": 0, "tags": ["很好", "流程简便"], "comment": "x" * 501, "stars": 5})
    assert {e.field for e in caught.value.errors} == {"level", "tags.0", "comment", "stars"}
    with pytest.raises(AppError) as caught:
        validate(FollowUpIn, {"outcome": "ignored", "note": "好"})
    assert {e.field for e in caught.value.errors} == {"outcome", "note"}


def test_the_follow_up_is_due_in_working_days_across_national_day() -> None:
    # rated on Tue 30 Sep 2025 (Shanghai): Oct 1-8 are holidays and Sat Oct 11 a make-up working day
    assert follow_up_due(WorkCalendar.load(), END) == date(2025, 10, 28)


def test_satisfaction_counts_three_to_five_as_satisfied() -> None:
    row = satisfaction({5: 6, 4: 2, 3: 1, 1: 1})
    assert row == {"total": 10, "levels": {"5": 6, "4": 2, "3": 1, "2": 0, "1": 1}, "satisfied": 9, "bad": 1,
                   "satisfaction_rate": 0.9}
    assert satisfaction({})["satisfaction_rate"] is None


@pytest.mark.parametrize("ended", [case("completed", completed_at=END),
                                   case("not_accepted", decided_at=END, receipt_no=None)])
def test_the_invitation_carries_every_declared_key(ended: dict[str, Any]) -> None:
    event = rating_requested_event(ended)
    assert event.topic == "case.rating_requested" and TOPICS[event.topic].pending is None
    assert missing_keys(event.topic, event.data) == []
    assert event.data["completed_at"] == END
    assert event.key == f"case:{ended['_id']}:rating_requested"  # one invitation per case
    assert [(r.kind, r.id) for r in event.recipients] == [("person", ended["applicant_person_id"])]


def test_no_invitation_for_a_case_that_has_not_ended() -> None:
    with pytest.raises(ValueError, match="has not ended"):
        rating_requested_event(case("withdrawn"))
