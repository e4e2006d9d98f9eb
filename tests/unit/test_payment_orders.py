"""Payment orders, pure rules: the state machine, what the payer's bill shows, the order document."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from payments.orders import Channel, OrderState, can_move, description_of, new_order

BILL = {"_id": "B1", "fee_item_id": "F1", "student_id": "S1", "school_id": "124301820061850412",
        "region_code": "430182", "amount_fen": 120_000, "school_name": "宁乡市玉潭街道第一小学",
        "item": {"name": "2026年秋季学期学生作业本费"}, "student_name": "陈思远"}


@pytest.mark.parametrize(("current", "to", "allowed"), [
    ("created", OrderState.PAYING, True), ("created", OrderState.PAID, True), ("paying", OrderState.PAID, True),
    ("paying", OrderState.CLOSED, True), ("paying", OrderState.FAILED, True), ("paid", OrderState.CLOSED, False),
    ("paid", OrderState.PAID, False), ("closed", OrderState.PAID, False), ("failed", OrderState.PAYING, False),
    ("paying", OrderState.CREATED, False),
])
def test_only_open_orders_move_and_final_states_are_final(current: str, to: OrderState, allowed: bool) -> None:
    assert can_move(current, to) is allowed


def test_description_names_item_and_school_not_the_child_and_fits_wechat_127_bytes() -> None:
    text = description_of(BILL)
    assert text == "2026年秋季学期学生作业本费-宁乡市玉潭街道第一小学" and "陈思远" not in text
    long = description_of(BILL | {"school_name": "很长的学校名称" * 20})
    assert len(long.encode()) <= 127 and long.startswith("2026年秋季")


def test_a_new_order_is_created_with_the_bills_amount_and_expires() -> None:
    now = datetime(2026, 9, 1, 2, 0, tzinfo=UTC)
    doc = new_order(order_id="01J0000000000000000000000A", bill=BILL, person_id="P1", channel=Channel.WECHATPAY,
                    mode="jsapi", appid="wx1", attempt=1, now=now, ttl=timedelta(minutes=30))
    assert (doc["state"], doc["amount_fen"], doc["out_trade_no"], doc["expires_at"]) == (
        "created", 120_000, doc["_id"], now + timedelta(minutes=30))
    assert doc["payment"] is None and doc["refund"] is None
