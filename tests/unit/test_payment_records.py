"""Pure parts of receipt issuing and reconciliation runs: what a paid order prints, what reconciliation reads of
an order, yesterday in Beijing time, provider failures of the bill call recorded as BillUnavailable."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from accounts.people import Level, Person
from payments.errors import BillUnavailable, ProviderUnavailable
from payments.receipt_issuing import class_label, payment_of, term_label
from payments.reconciliation_runs import _tolerant, local_payment, yesterday

PAID_AT = datetime(2026, 9, 1, 1, 30, tzinfo=UTC)
BILL = {"_id": "B1", "student_name": "陈思远", "student_no": "S001", "school_name": "宁乡市实验小学", "grade": "三年级",
        "class_name": "1班", "item": {"name": "作业本费", "term": "2026-autumn"}}


def order(**changes: object) -> dict[str, object]:
    return {"_id": "O1", "out_trade_no": "O1", "channel": "wechatpay", "state": "paid", "amount_fen": 120_000,
            "person_id": "P1", "school_id": "SCH", "refund": None,
            "payment": {"transaction_id": "4200001", "paid_at": PAID_AT, "amount_fen": 120_000}} | changes


def test_a_paid_order_prints_its_bill_term_class_and_the_masked_payer() -> None:
    payer = Person(id="P1", level=Level.L2, name="陈志强", phone_masked="138****5678")
    payment = payment_of(order(), BILL, payer)
    assert (payment.payer_name, payment.payer_phone, payment.class_name) == ("陈志强", "138****5678", "三年级1班")
    assert payment.items[0].note == "2026年秋季学期" and payment.total_fen == 120_000 and payment.paid_at == PAID_AT
    assert (term_label("2027-spring"), term_label("odd"), class_label(BILL | {"class_name": "三年级2班"})) == (
        "2027年春季学期", "odd", "三年级2班")
    with pytest.raises(ValueError):
        payment_of(order(state="closed"), BILL, payer)


def test_reconciliation_reads_money_recorded_and_the_accepted_refund() -> None:
    accepted = datetime(2026, 9, 2, 3, 0, tzinfo=UTC)
    late = local_payment(order(state="closed", refund={"out_refund_no": "RO1", "amount_fen": 120_000,
                                                       "state": "processing", "updated_at": accepted}))
    assert (late.paid_at, late.transaction_id, late.school_id, late.state) == (PAID_AT, "4200001", "SCH", "closed")
    assert [(r.out_refund_no, r.accepted_at) for r in late.refunds] == [("RO1", accepted)]
    requested = local_payment(order(refund={"out_refund_no": "RO1", "amount_fen": 1, "state": "requested",
                                            "updated_at": accepted}))
    assert requested.refunds[0].accepted_at is None
    finance = [{"out_refund_no": "RF1", "amount_fen": 20_000, "state": "succeeded", "accepted_at": accepted},
               {"out_refund_no": "RF2", "amount_fen": 5_000, "state": "approved", "accepted_at": None}]
    both = local_payment(order(refund={"out_refund_no": "RO1", "amount_fen": 1, "state": "refunded",
                                       "accepted_at": PAID_AT, "updated_at": accepted}), finance)
    assert [(r.out_refund_no, r.amount_fen, r.accepted_at) for r in both.refunds] == [
        ("RO1", 1, PAID_AT), ("RF1", 20_000, accepted), ("RF2", 5_000, None)]
    unpaid = local_payment(order(state="paying", payment=None))
    assert (unpaid.paid_at, unpaid.transaction_id, unpaid.refunds) == (None, None, ())


def test_yesterday_is_the_beijing_day_before() -> None:
    assert yesterday(datetime(2026, 9, 1, 16, 30, tzinfo=UTC)) == date(2026, 9, 1)  # 00:30 on 9-2 in Beijing
    assert yesterday(datetime(2026, 9, 1, 15, 59, tzinfo=UTC)) == date(2026, 8, 31)


async def test_any_provider_failure_of_the_bill_call_becomes_bill_unavailable() -> None:
    async def down(day: date) -> object:
        raise ProviderUnavailable("wechatpay", "TIMEOUT", retryable=True)

    with pytest.raises(BillUnavailable) as failed:
        await _tolerant("wechatpay", down)(date(2026, 9, 1))  # type: ignore[arg-type]
    assert (failed.value.code, failed.value.retryable) == ("TIMEOUT", True)
