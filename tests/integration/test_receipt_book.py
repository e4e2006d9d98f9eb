"""Issuing receipts against the real MongoDB wire-protocol server: dense unique numbers per day, one receipt per
order even under concurrent issues, and the public check of number + code."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import pytest

from config.wiring import Dependencies
from core.ids import new_id
from payments.receipts import (
    Payment,
    ReceiptBook,
    ReceiptCounterRepository,
    ReceiptItem,
    ReceiptRepository,
    parse_code_keys,
    receipt_book,
    receipt_code,
)

KEYS = parse_code_keys("integration-receipt-key-new1,integration-receipt-key-old1")


@pytest.fixture
async def book(deps: Dependencies) -> ReceiptBook:
    receipts, counters = ReceiptRepository(deps.db), ReceiptCounterRepository(deps.db)
    await receipts.ensure_indexes()
    await counters.ensure_indexes()
    return ReceiptBook(receipts, counters, KEYS)


def a_payment_day() -> datetime:
    """09:30 Shanghai time of a day no other test issues receipts on (numbers are per day)."""
    return datetime(2060, 1, 1, 1, 30, tzinfo=UTC) + timedelta(days=random.randrange(100_000))


def payment(paid_at: datetime, **changes: object) -> Payment:
    values: dict[str, object] = dict(
        out_trade_no=new_id(), channel="alipay", transaction_id="2025090122001400001234567890", paid_at=paid_at,
        payer_name="王芳", payer_phone="13912345678", student_name="王小雨", student_no="2025080102",
        school_name="宁乡市实验小学", class_name="三年级（1）班", items=(ReceiptItem("学费", 88800, "2025年秋季学期"),))
    values.update(changes)
    return Payment(**values)  # type: ignore[arg-type]


async def test_numbers_are_dense_per_day_and_a_retry_returns_the_same_receipt(book: ReceiptBook) -> None:
    paid_at = a_payment_day()
    stamp = f"{paid_at + timedelta(hours=8):%Y%m%d}"
    first = await book.issue(payment(paid_at))
    second = await book.issue(payment(paid_at + timedelta(minutes=1)))
    assert (first.number, second.number) == (f"ZSB{stamp}000001", f"ZSB{stamp}000002")
    again = await book.issue(payment(paid_at, out_trade_no=first.out_trade_no))
    assert again == first
    assert await book.of_order(first.out_trade_no) == first
    assert await book.get(first.number) == first
    stored = await book.receipts.get(first.number)
    assert stored is not None and stored["payer"] == "王*（139****5678）" and "13912345678" not in str(stored)


async def test_concurrent_issues_for_one_order_make_one_receipt(book: ReceiptBook) -> None:
    p = payment(a_payment_day())
    issued = await asyncio.gather(*(book.issue(p) for _ in range(8)))
    assert len({r.number for r in issued}) == 1
    assert await book.receipts.collection.count_documents({"out_trade_no": p.out_trade_no}) == 1


async def test_a_batch_takes_one_block_of_numbers_per_day_and_keeps_what_exists(book: ReceiptBook) -> None:
    day = a_payment_day()
    before = await book.issue(payment(day))  # 000001, issued on its own
    batch = [payment(day + timedelta(minutes=i)) for i in range(3)] + [payment(day + timedelta(days=1))]
    issued = await book.issue_many([*batch, payment(day, out_trade_no=before.out_trade_no)])
    assert issued[before.out_trade_no] == before  # already issued: the same receipt, no new number
    stamp, next_day = f"{day + timedelta(hours=8):%Y%m%d}", f"{day + timedelta(days=1, hours=8):%Y%m%d}"
    assert [issued[p.out_trade_no].number for p in batch] == [
        f"ZSB{stamp}000002", f"ZSB{stamp}000003", f"ZSB{stamp}000004", f"ZSB{next_day}000001"]
    assert await book.issue_many(batch) == {p.out_trade_no: issued[p.out_trade_no] for p in batch}  # a retry
    assert await book.receipts.collection.count_documents(
        {"out_trade_no": {"$in": [p.out_trade_no for p in batch]}}) == 4


async def test_a_batch_racing_single_issues_still_makes_one_receipt_per_order(book: ReceiptBook) -> None:
    batch = [payment(a_payment_day()) for _ in range(5)]
    together, *alone = await asyncio.gather(book.issue_many(batch), *(book.issue(p) for p in batch))
    assert {p.out_trade_no: r for p, r in zip(batch, alone, strict=True)} == together
    assert await book.receipts.collection.count_documents(
        {"out_trade_no": {"$in": [p.out_trade_no for p in batch]}}) == 5


async def test_check_accepts_the_printed_code_and_old_keys_and_nothing_else(book: ReceiptBook) -> None:
    r = await book.issue(payment(a_payment_day()))
    assert await book.check(r.number, r.code) == r
    assert await book.check(r.number.lower(), r.code.lower().replace("-", "")) == r
    assert await book.check(r.number, "00000-00000") is None
    assert await book.check("ZSB20990101000001", r.code) is None
    # a receipt signed before the key rotation (old key first then) still checks
    old = receipt_code(KEYS[1], r.number, r.total_fen, r.paid_at)
    assert await book.check(r.number, old) == r


async def test_the_book_of_the_settings_signs_with_their_first_key(deps: Dependencies) -> None:
    book = receipt_book(deps.db, deps.settings)
    r = await book.issue(payment(a_payment_day()))
    key = parse_code_keys(deps.settings.receipt_code_keys.get_secret_value())[0]
    assert r.code == receipt_code(key, r.number, r.total_fen, r.paid_at)
    assert await book.check(r.number, r.code) == r
