"""Refunds asked for by school finance, pure rules: the state machine, what may still be refunded, four eyes,
the refund document, when a failed refund may be tried again under a new number (payments/refunds.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from core.errors import AppError
from payments.bills import BILL_STATE_LABELS, BillState
from payments.refunds import (
    RefundIn,
    RefundState,
    can_move,
    check_amount,
    check_second_person,
    check_state,
    failed_for_good,
    failure_label,
    new_refund,
    refundable_fen,
    retry_of,
    sources_of,
)

ORDER = {"_id": "01J0000000000000000000000A", "out_trade_no": "01J0000000000000000000000A", "channel": "wechatpay",
         "school_id": "124301820061850412", "region_code": "430182", "student_id": "S1", "person_id": "P1",
         "amount_fen": 120_000, "state": "paid"}
BILL = {"_id": "B1", "student_name": "陈思远", "item": {"name": "2026年秋季学期学生作业本费"}}
NOW = datetime(2026, 9, 2, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(("current", "to", "allowed"), [
    ("requested", RefundState.APPROVED, True), ("requested", RefundState.REJECTED, True),
    ("requested", RefundState.PROCESSING, False), ("requested", RefundState.SUCCEEDED, False),
    ("approved", RefundState.PROCESSING, True), ("approved", RefundState.SUCCEEDED, True),  # callback came first
    ("approved", RefundState.FAILED, True), ("approved", RefundState.REJECTED, False),
    ("processing", RefundState.SUCCEEDED, True), ("processing", RefundState.FAILED, True),
    ("processing", RefundState.APPROVED, False), ("succeeded", RefundState.FAILED, False),
    ("succeeded", RefundState.SUCCEEDED, False), ("failed", RefundState.PROCESSING, False),
    ("rejected", RefundState.APPROVED, False),
])
def test_refund_states_move_forward_only_and_final_states_are_final(current: str, to: RefundState,
                                                                   allowed: bool) -> None:
    assert can_move(current, to) is allowed


def test_a_success_is_reached_from_approved_or_processing_only() -> None:
    assert set(sources_of(RefundState.SUCCEEDED)) == {"approved", "processing"}
    assert set(sources_of(RefundState.REJECTED)) == {"requested"}


def test_what_may_still_be_refunded_counts_every_request_not_rejected_or_failed() -> None:
    assert refundable_fen(ORDER) == 120_000
    assert refundable_fen(ORDER | {"refund_reserved_fen": 50_000}) == 70_000
    check_amount(ORDER | {"refund_reserved_fen": 50_000}, 70_000)  # exactly what is left
    with pytest.raises(AppError) as refused:
        check_amount(ORDER | {"refund_reserved_fen": 50_000}, 70_001)
    assert (refused.value.error.code, refused.value.error.status) == ("REFUND_AMOUNT_EXCEEDED", 409)
    assert refused.value.extra == {"refundable_fen": 70_000}
    with pytest.raises(AppError):
        check_amount(ORDER, 120_001)


def test_the_requester_may_not_decide_their_own_refund() -> None:
    refund = new_refund(refund_id="01J0000000000000000000000R", order=ORDER, bill=BILL, amount_fen=30_000,
                        reason="学生转学", staff_id="st-1", staff_name="李会计", now=NOW)
    with pytest.raises(AppError) as same:
        check_second_person(refund, "st-1")
    assert (same.value.error.code, same.value.error.status) == ("REFUND_SAME_PERSON", 403)
    with pytest.raises(AppError):
        check_second_person(refund, None)
    check_second_person(refund, "st-2")


def test_a_step_the_state_does_not_allow_is_a_conflict_naming_the_state() -> None:
    refund = {"state": "succeeded"}
    with pytest.raises(AppError) as conflict:
        check_state(refund, RefundState.REQUESTED)
    assert conflict.value.error.code == "REFUND_STATE_CONFLICT" and conflict.value.extra == {"state": "succeeded"}
    check_state({"state": "requested"}, RefundState.REQUESTED)


def test_a_new_refund_has_a_fixed_out_refund_no_and_copies_the_order() -> None:
    refund = new_refund(refund_id="01J0000000000000000000000R", order=ORDER, bill=BILL, amount_fen=120_000,
                        reason="学生转学", staff_id="st-1", staff_name="李会计", now=NOW)
    assert refund["out_refund_no"] == "RF01J0000000000000000000000R" and len(refund["out_refund_no"]) <= 64
    assert (refund["state"], refund["full"], refund["order_amount_fen"], refund["payer_person_id"]) == (
        "requested", True, 120_000, "P1")
    partial = new_refund(refund_id="01J0000000000000000000000S", order=ORDER, bill=BILL, amount_fen=1,
                         reason="多收", staff_id="st-1", staff_name="李会计", now=NOW)
    assert partial["full"] is False


@pytest.mark.parametrize("body", [{"amount_fen": 0, "reason": "多收了"}, {"amount_fen": -5, "reason": "多收了"},
                                  {"amount_fen": "100", "reason": "多收了"}, {"amount_fen": 1.5, "reason": "多收了"},
                                  {"amount_fen": 100, "reason": " "}, {"amount_fen": 100}])
def test_amounts_are_positive_integer_fen_and_a_reason_is_required(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        RefundIn.model_validate(body)


def test_a_bill_refunded_in_full_has_its_own_state_and_label() -> None:
    assert BillState("refunded") is BillState.REFUNDED and BILL_STATE_LABELS[BillState.REFUNDED] == "已退费"


@pytest.mark.parametrize(("failure", "again"), [
    ({"source": "provider", "detail": "INVALID_REQUEST", "message": "申请退款金额超过订单可退金额"}, True),  # refused
    ({"source": "provider", "detail": "ACQ.SELLER_BALANCE_NOT_ENOUGH"}, True),
    ({"source": "callback", "detail": "CLOSED"}, True), ({"source": "query", "detail": "CLOSED"}, True),
    ({"source": "callback", "detail": "ABNORMAL"}, False),  # the money is held at WeChat Pay: settled there
    ({"source": "query", "detail": "ABNORMAL"}, False), ({"source": "send", "detail": "SOMETHING_NEW"}, False),
    (None, False), ({}, False),
])
def test_only_a_refund_the_provider_closed_or_refused_may_be_tried_under_a_new_number(
        failure: dict[str, str] | None, again: bool) -> None:
    assert failed_for_good(failure) is again
    label = failure_label(failure)
    assert (label is None) == (not failure)
    if label:
        assert ("可重新发起" in label) is again and ("不能重新发起" in label) is (not again)


def test_the_providers_own_words_are_in_the_label() -> None:
    label = failure_label({"source": "provider", "detail": "INVALID_REQUEST", "message": "申请退款金额超过订单可退金额"})
    assert label is not None and "INVALID_REQUEST：申请退款金额超过订单可退金额" in label


def test_the_next_attempt_keeps_the_decision_and_gets_a_new_number() -> None:
    first = new_refund(refund_id="01J000000000000000000000R1", order=ORDER, bill=BILL, amount_fen=30_000,
                       reason="学生转学，退还部分费用", staff_id="t-fin-1", staff_name="谭丽娟", now=NOW)
    failed = first | {"state": "failed", "decided_by": {"staff_id": "t-fin-2", "name": "周敏"}, "decided_at": NOW,
                      "failure": {"source": "callback", "detail": "CLOSED"}, "out_refund_no": "RF01J000000000000000000000R1"}
    nxt = retry_of(failed, refund_id="01J000000000000000000000R2", staff_id="t-fin-3", staff_name="李娜", now=NOW)
    assert (nxt["_id"], nxt["out_refund_no"], nxt["state"], nxt["attempt"], nxt["retry_of"]) == (
        "01J000000000000000000000R2", "RF01J000000000000000000000R2", "approved", 2, first["_id"])
    for kept in ("order_id", "bill_id", "amount_fen", "reason", "requested_by", "decided_by", "payer_person_id"):
        assert nxt[kept] == failed[kept], kept
    assert nxt["failure"] is None and nxt["retried_by"] is None and nxt["retry_asked_by"]["staff_id"] == "t-fin-3"
    assert retry_of(nxt | {"state": "failed"}, refund_id="R3", staff_id="x", staff_name="x", now=NOW)["attempt"] == 3
