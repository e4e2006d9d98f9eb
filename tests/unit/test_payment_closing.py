"""Closing an open order (payments/order_closing.py), the decisions alone: the provider first, then here; a close
refused because the money arrived settles the payment (never closes it); a provider that does not answer
changes nothing. The providers and the settlement are stand-ins that record what they were asked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from payments.alipay_types import Trade
from payments.errors import ProviderRejected, ProviderUnavailable, TradeNotFound
from payments.order_closing import CLOSED, GONE, NOT_OPEN, UNPAID, ProviderOrders
from payments.order_service import OrderIn, _not_payable
from payments.order_settlement import Outcome, Paid

NOW = datetime(2026, 9, 1, 2, 0, tzinfo=UTC)
ORDER = {"_id": "01J0000000000000000000000A", "out_trade_no": "01J0000000000000000000000A", "channel": "alipay",
         "state": "paying", "expires_at": NOW + timedelta(minutes=20), "amount_fen": 120_000}


class Alipay:
    def __init__(self, close: Exception | None, status: str | Exception) -> None:
        self.close_error, self.status, self.calls = close, status, []  # type: list[str]

    async def close(self, out_trade_no: str) -> None:
        self.calls.append("close")
        if self.close_error is not None:
            raise self.close_error

    async def query(self, out_trade_no: str) -> Trade:
        self.calls.append("query")
        if isinstance(self.status, Exception):
            raise self.status
        return Trade.model_validate({"out_trade_no": out_trade_no, "trade_no": "2026090122001", "trade_status":
                                     self.status, "total_amount": "1200.00", "send_pay_date": "2026-09-01 10:00:00"})


class Settlement:
    def __init__(self, still_open: bool = True) -> None:
        self.still_open, self.settled, self.closed = still_open, [], []  # type: bool, list[Paid], list[str]

    async def settle(self, paid: Paid) -> Outcome:
        self.settled.append(paid)
        return Outcome.APPLIED

    async def close(self, order_id: str, reason: str, *, failed: bool = False) -> dict[str, Any] | None:
        self.closed.append(reason)
        return {"_id": order_id} if self.still_open else None


def closer(alipay: Alipay, settlement: Settlement) -> ProviderOrders:
    return ProviderOrders(settlement, None, alipay)  # type: ignore[arg-type]


async def test_an_unpaid_order_is_closed_at_the_provider_then_here() -> None:
    alipay, settlement = Alipay(None, "WAIT_BUYER_PAY"), Settlement()
    assert await closer(alipay, settlement).close(ORDER, NOW, "superseded") == CLOSED
    assert (alipay.calls, settlement.closed, settlement.settled) == (["close"], ["superseded"], [])
    gone = Alipay(TradeNotFound("alipay", "ACQ.TRADE_NOT_EXIST"), "WAIT_BUYER_PAY")  # a WAP page never opened
    assert await closer(gone, Settlement(still_open=False)).close(ORDER, NOW, "superseded") == NOT_OPEN


async def test_a_close_refused_because_it_was_paid_settles_the_payment_and_closes_nothing() -> None:
    alipay, settlement = Alipay(ProviderRejected("alipay", "ACQ.TRADE_STATUS_ERROR"), "TRADE_SUCCESS"), Settlement()
    assert await closer(alipay, settlement).close(ORDER, NOW, "superseded") == "applied"
    assert alipay.calls == ["close", "query"] and settlement.closed == []
    (paid,) = settlement.settled
    assert (paid.out_trade_no, paid.amount_fen, paid.source) == (ORDER["_id"], 120_000, "query")


async def test_a_close_refused_for_a_trade_closed_there_closes_it_here() -> None:
    alipay, settlement = Alipay(ProviderRejected("alipay", "ACQ.TRADE_STATUS_ERROR"), "TRADE_CLOSED"), Settlement()
    assert await closer(alipay, settlement).close(ORDER, NOW, "superseded") == CLOSED
    assert settlement.closed == ["superseded"]


@pytest.mark.parametrize("alipay", [
    Alipay(ProviderUnavailable("alipay", "TIMEOUT", retryable=True), "WAIT_BUYER_PAY"),  # the close unanswered
    Alipay(ProviderRejected("alipay", "ACQ.TRADE_STATUS_ERROR"), "WAIT_BUYER_PAY"),  # refused, yet not paid
    Alipay(ProviderRejected("alipay", "ACQ.TRADE_STATUS_ERROR"), ProviderUnavailable("alipay", "HTTP_502")),
])
async def test_without_a_clear_answer_nothing_changes_here(alipay: Alipay) -> None:
    settlement = Settlement()
    with pytest.raises(ProviderUnavailable):
        await closer(alipay, settlement).close(ORDER, NOW, "superseded")
    assert settlement.closed == [] and settlement.settled == []


async def test_facts_of_a_trade_the_provider_never_saw() -> None:
    missing = Alipay(None, TradeNotFound("alipay", "ACQ.TRADE_NOT_EXIST"))
    assert await closer(missing, Settlement()).facts(ORDER, NOW) == UNPAID  # a WAP page may still be opened
    assert await closer(missing, Settlement()).facts(ORDER | {"state": "created"}, NOW) == GONE
    assert await closer(missing, Settlement()).facts(ORDER, NOW + timedelta(minutes=30)) == GONE


def test_the_alipay_mode_of_an_order() -> None:
    assert not OrderIn(channel="alipay").alipay_mini  # WAP unless the client says it is the mini-program
    assert OrderIn(channel="alipay", alipay_mode="mini").alipay_mini
    assert OrderIn(channel="alipay", alipay_open_id="0abc").alipay_mini  # an older client naming the buyer
    with pytest.raises(ValueError, match="alipay_open_id"):
        OrderIn(channel="alipay", alipay_mode="wap", alipay_open_id="0abc")


def test_a_bill_no_longer_payable_says_what_it_is_and_which_own_order_paid_it() -> None:
    error = _not_payable({"state": "paid"}, paid_order_id="01J0000000000000000000000A")
    assert (error.error.code, error.status, error.message) == ("BILL_STATE_CONFLICT", 409, "账单已缴费，无需支付")
    assert error.extra == {"state": "paid", "paid_order_id": "01J0000000000000000000000A"}
    assert _not_payable({"state": "cancelled"}).extra == {"state": "cancelled"}
