"""The reconciliation matcher on real bill files: rows rendered by the simulators' renderers, read by the real
parsers, with one planted discrepancy of each kind."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from payments.alipay_bill import parse_bill_zip
from payments.reconciliation import (
    Kind,
    LocalPayment,
    LocalRefund,
    Totals,
    day_bounds,
    match,
    provider_entries,
)
from payments.wechatpay_bill import parse_trade_bill
from simulators.alipay_bill import BillEntry, render_zip
from simulators.wechatpay_bill import BillLine, render

SH = ZoneInfo("Asia/Shanghai")
DAY = date(2025, 9, 1)
APPID, MCHID = "wxd0000000000000mp", "1900000109"


def at(hour: int, minute: int = 0, second: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=SH)


def wx_pay(no: str, fen: int, when: datetime, tx: str | None = None) -> BillLine:
    return BillLine(when, APPID, MCHID, tx or f"42{no}", no, "o-openid", fen, "学费-宁乡一中", "")


def wx_refund(no: str, total: int, refund_no: str, fen: int, when: datetime) -> BillLine:
    return BillLine(when, APPID, MCHID, f"42{no}", no, "o-openid", total, "学费-宁乡一中", "", f"50{refund_no}",
                    refund_no, fen, "SUCCESS")


def paid(no: str, fen: int, when: datetime | None, *, tx: str | None = None, state: str = "paid",
         channel: str = "wechatpay", refunds: tuple[LocalRefund, ...] = (), school: str = "S1") -> LocalPayment:
    prefix = "42" if channel == "wechatpay" else "2025"
    return LocalPayment(no, channel, fen, state, when, tx or (f"{prefix}{no}" if when else None), refunds, school)


def wechat_entries(lines: list[BillLine]):
    bill = parse_trade_bill(render(DAY, lines), DAY)
    return provider_entries(bill)


def found(result) -> set[tuple[str, str, str | None]]:
    return {(d.kind.value, d.out_trade_no, d.out_refund_no) for d in result.discrepancies}


def test_wechatpay_day_with_one_discrepancy_of_each_kind() -> None:
    lines = [
        wx_pay("A-MATCH", 120000, at(9, 1)),
        wx_pay("B-UNKNOWN", 120000, at(9, 2)),
        wx_pay("C-CLOSED", 80000, at(9, 3)),
        wx_pay("D-AMOUNT", 120000, at(9, 4)),
        wx_pay("F-TX", 50000, at(9, 6), tx="4200000000000000000000000009"),
        wx_pay("K-MIDNIGHT", 30000, at(23, 59, 59)),
        wx_refund("G-EARLIER", 60000, "R-G", 60000, at(10, 0)),
        wx_refund("H-REFUND", 60000, "R-H", 20000, at(10, 1)),
        wx_refund("J-REFUND-AMOUNT", 60000, "R-J", 30000, at(10, 2)),
        wx_pay("L-NEXT-DAY", 1000, at(0, 0, 1, DAY + timedelta(days=1))),  # on tomorrow's bill, not today's
    ]
    local = [
        paid("A-MATCH", 120000, at(9, 1)),
        paid("C-CLOSED", 80000, None, state="closed"),
        paid("D-AMOUNT", 100000, at(9, 4)),
        paid("E-MISSING", 45000, at(9, 5)),
        paid("F-TX", 50000, at(9, 6)),
        paid("K-MIDNIGHT", 30000, at(23, 59, 59)),
        paid("G-EARLIER", 60000, at(15, day=DAY - timedelta(days=3)),
             refunds=(LocalRefund("R-G", 60000, "refunded", at(10, 0)),)),
        paid("H-REFUND", 60000, at(16, day=DAY - timedelta(days=2))),
        paid("I-REFUND-HERE", 60000, at(8, day=DAY - timedelta(days=1)),
             refunds=(LocalRefund("R-I", 10000, "processing", at(11, 0)),
                      LocalRefund("R-I2", 5000, "requested", None))),  # not accepted yet: on no bill
        paid("J-REFUND-AMOUNT", 60000, at(8, day=DAY - timedelta(days=5)),
             refunds=(LocalRefund("R-J", 35000, "refunded", at(10, 2)),)),
        paid("L-NEXT-DAY", 1000, at(0, 0, 1, DAY + timedelta(days=1))),
        paid("M-ALIPAY", 9900, at(12), channel="alipay"),  # another channel's payment: not on this bill
    ]
    result = match("wechatpay", DAY, wechat_entries(lines), local)
    assert found(result) == {
        (Kind.PAID_THERE_NOT_HERE, "B-UNKNOWN", None),
        (Kind.PAID_THERE_NOT_HERE, "C-CLOSED", None),
        (Kind.AMOUNT_DIFFERS, "D-AMOUNT", None),
        (Kind.PAID_HERE_NOT_THERE, "E-MISSING", None),
        (Kind.TRANSACTION_DIFFERS, "F-TX", None),
        (Kind.REFUND_THERE_NOT_HERE, "H-REFUND", "R-H"),
        (Kind.REFUND_HERE_NOT_THERE, "I-REFUND-HERE", "R-I"),
        (Kind.REFUND_AMOUNT_DIFFERS, "J-REFUND-AMOUNT", "R-J"),
    }
    assert not result.balanced
    assert (result.matched_payments, result.matched_refunds) == (2, 1)  # A and K; G's refund
    assert result.provider == Totals(payments=6, payment_fen=520000, refunds=3, refund_fen=110000)
    assert result.local == Totals(payments=5, payment_fen=345000, refunds=3, refund_fen=105000)
    by_no = {d.out_trade_no: d for d in result.discrepancies}
    assert (by_no["D-AMOUNT"].provider_fen, by_no["D-AMOUNT"].local_fen) == (120000, 100000)
    assert by_no["C-CLOSED"].local_state == "wechatpay:closed" and by_no["B-UNKNOWN"].local_state is None
    assert by_no["F-TX"].provider_transaction_id == "4200000000000000000000000009"
    assert by_no["F-TX"].local_transaction_id == "42F-TX"
    assert (by_no["J-REFUND-AMOUNT"].provider_fen, by_no["J-REFUND-AMOUNT"].local_fen) == (30000, 35000)
    assert by_no["E-MISSING"].school_id == "S1" and by_no["B-UNKNOWN"].school_id is None
    assert by_no["B-UNKNOWN"].provider_at == at(9, 2)
    assert by_no["B-UNKNOWN"].label == "渠道已收款，本地未记收款"
    kinds = [d.kind for d in result.discrepancies]
    assert kinds == sorted(kinds, key=list(Kind).index)  # sorted by kind for the report


def test_a_clean_day_is_balanced() -> None:
    lines = [wx_pay("A", 120000, at(9)), wx_refund("A", 120000, "R-A", 120000, at(18))]
    local = [paid("A", 120000, at(9), refunds=(LocalRefund("R-A", 120000, "refunded", at(18)),))]
    result = match("wechatpay", DAY, wechat_entries(lines), local)
    assert result.balanced and result.discrepancies == ()
    assert (result.matched_payments, result.matched_refunds) == (1, 1)
    assert result.provider == result.local == Totals(1, 120000, 1, 120000)


def test_a_payment_listed_twice_on_the_bill_is_reported() -> None:
    line = wx_pay("A", 120000, at(9))
    result = match("wechatpay", DAY, wechat_entries([line, line]), [paid("A", 120000, at(9))])
    assert found(result) == {(Kind.DUPLICATE_THERE, "A", None)}
    assert result.matched_payments == 1


def test_a_local_payment_of_another_channel_is_paid_there_not_here() -> None:
    """The same out_trade_no recorded as an Alipay payment here but collected by WeChat Pay."""
    result = match("wechatpay", DAY, wechat_entries([wx_pay("A", 500, at(9))]),
                   [paid("A", 500, at(9), channel="alipay")])
    assert [(d.kind, d.local_state) for d in result.discrepancies] == [(Kind.PAID_THERE_NOT_HERE, "alipay:paid")]


def test_alipay_day_with_one_discrepancy_of_each_kind() -> None:
    created = at(8)

    def trade(no: str, fen: int, when: datetime, trade_no: str | None = None) -> BillEntry:
        return BillEntry(trade_no or f"2025{no}", no, "交易", "学费-宁乡一中", created, when, "138******00", fen)

    def refund(no: str, fen: int, when: datetime, request_no: str) -> BillEntry:
        return BillEntry(f"2025{no}", no, "退款", "学费-宁乡一中", created, when, "138******00", -fen, request_no)

    entries = [trade("A", 120000, at(9)), trade("B", 120000, at(9, 1)), trade("D", 120000, at(9, 2)),
               trade("F", 500, at(9, 3), trade_no="2025090122001499999999999999"),
               refund("G", 20000, at(10), "RQ-G"), refund("H", 20000, at(10, 1), "RQ-H"),
               refund("J", 20000, at(10, 2), "RQ-J")]
    _name, data = render_zip("2088000000000001", DAY, entries, at(23, 59) + timedelta(hours=3))
    bill = parse_bill_zip(data, DAY)
    local = [
        paid("A", 120000, at(9), channel="alipay"),
        paid("D", 119999, at(9, 2), channel="alipay"),
        paid("E", 30000, at(9, 5), channel="alipay"),
        paid("F", 500, at(9, 3), channel="alipay"),
        paid("G", 20000, at(9, day=DAY - timedelta(days=1)), channel="alipay",
             refunds=(LocalRefund("RQ-G", 20000, "refunded", at(10)),)),
        paid("H", 20000, at(9, day=DAY - timedelta(days=1)), channel="alipay",
             refunds=(LocalRefund("RQ-H", 20000, "requested", None),)),  # we never saw it accepted
        paid("I", 20000, at(9, day=DAY - timedelta(days=1)), channel="alipay",
             refunds=(LocalRefund("RQ-I", 5000, "refunded", at(14)),)),
        paid("J", 20000, at(9, day=DAY - timedelta(days=1)), channel="alipay",
             refunds=(LocalRefund("RQ-J", 2000, "refunded", at(10, 2)),)),
    ]
    result = match("alipay", DAY, provider_entries(bill), local)
    assert found(result) == {
        (Kind.PAID_THERE_NOT_HERE, "B", None), (Kind.AMOUNT_DIFFERS, "D", None),
        (Kind.PAID_HERE_NOT_THERE, "E", None), (Kind.TRANSACTION_DIFFERS, "F", None),
        (Kind.REFUND_THERE_NOT_HERE, "H", "RQ-H"), (Kind.REFUND_HERE_NOT_THERE, "I", "RQ-I"),
        (Kind.REFUND_AMOUNT_DIFFERS, "J", "RQ-J"),
    }
    assert (result.matched_payments, result.matched_refunds) == (1, 1)
    assert result.provider == Totals(4, 360500, 3, 60000)
    h = next(d for d in result.discrepancies if d.out_trade_no == "H")
    assert (h.local_state, h.local_fen, h.provider_fen) == ("requested", 20000, 20000)


def test_day_bounds_are_the_shanghai_day_in_utc() -> None:
    assert day_bounds(DAY) == (datetime(2025, 8, 31, 16, tzinfo=UTC), datetime(2025, 9, 1, 16, tzinfo=UTC))


def test_unknown_channel_and_foreign_bill_are_refused() -> None:
    with pytest.raises(ValueError):
        match("cash", DAY, [], [])
    with pytest.raises(TypeError):
        provider_entries(object())  # type: ignore[arg-type]
