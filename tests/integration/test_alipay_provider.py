"""Alipay through the real adapter (the official alipay-sdk-python, in a thread pool) against the gateway
simulator: trades, RSA2-signed async notifies to a real notify endpoint, refunds, bills, and refusals."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import date, datetime
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import SecretStr

from config.settings import Settings
from payments.alipay import AlipayClient
from payments.alipay_notify import form_from_body
from payments.errors import CallbackRejected, ProviderRejected, ProviderUnavailable, TradeNotFound
from payments.keys import new_private_key, private_key_text, public_key_text
from tests.support.payments import NotifySink, PaySim, fresh_pay_sim

SHANGHAI = ZoneInfo("Asia/Shanghai")
OPEN_ID = "074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5"


@pytest.fixture
async def sim(simulators: str) -> AsyncIterator[PaySim]:
    async with fresh_pay_sim(simulators, "alipay") as control:
        yield control


@pytest.fixture
async def sink() -> AsyncIterator[NotifySink]:
    endpoint = NotifySink(default=(200, b"success"))
    yield endpoint
    endpoint.stop()


@pytest.fixture
async def alipay(settings: Settings, sink: NotifySink) -> AsyncIterator[AlipayClient]:
    client = AlipayClient.from_settings(settings.model_copy(update={"alipay_notify_url": sink.url()}))
    yield client
    await client.aclose()


def trade_no() -> str:
    return f"ZSB{time.time_ns()}"


async def paid_trade(alipay: AlipayClient, sim: PaySim, sink: NotifySink, amount_fen: int = 120000) -> str:
    number = trade_no()
    await alipay.create_trade(out_trade_no=number, amount_fen=amount_fen, subject="2026年春季学期学费",
                              buyer_open_id=OPEN_ID)
    await sim.post(f"trades/{number}/pay")
    await sink.wait_for(len(sink.received) + 1)
    return number


async def test_trade_create_is_idempotent_and_waits_for_the_buyer(sim: PaySim, alipay: AlipayClient) -> None:
    number = trade_no()
    created = await alipay.create_trade(out_trade_no=number, amount_fen=8800, subject="学费", buyer_open_id=OPEN_ID)
    again = await alipay.create_trade(out_trade_no=number, amount_fen=8800, subject="学费", buyer_open_id=OPEN_ID)
    assert again.trade_no == created.trade_no and len(created.trade_no) == 28
    with pytest.raises(ProviderRejected) as changed:
        await alipay.create_trade(out_trade_no=number, amount_fen=9900, subject="学费", buyer_open_id=OPEN_ID)
    assert changed.value.code == "ACQ.CONTEXT_INCONSISTENT"
    trade = await alipay.query(number)
    assert (trade.trade_status, trade.total_fen, trade.paid) == ("WAIT_BUYER_PAY", 8800, False)
    with pytest.raises(TradeNotFound):
        await alipay.query("NEVER" + number)


async def test_paying_sends_a_signed_notify_that_verifies(sim: PaySim, alipay: AlipayClient,
                                                          sink: NotifySink, settings: Settings) -> None:
    number = await paid_trade(alipay, sim, sink, amount_fen=120000)
    received = sink.received[-1]
    assert received.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    notice = alipay.verify_notify(form_from_body(received.body))
    assert (notice.out_trade_no, notice.trade_status, notice.total_fen, notice.buyer_open_id) == (
        number, "TRADE_SUCCESS", 120000, OPEN_ID)
    assert notice.paid and not notice.is_refund and notice.seller_id == settings.alipay_seller_id
    trade = await alipay.query(number)
    assert trade.paid and trade.trade_no == notice.trade_no
    notifications = (await sim.get("notifications", out_trade_no=number))["notifications"]
    assert [n["state"] for n in notifications] == ["delivered"]


async def test_altered_or_forged_notifies_are_refused(sim: PaySim, alipay: AlipayClient, sink: NotifySink) -> None:
    await paid_trade(alipay, sim, sink)
    form = form_from_body(sink.received[-1].body)
    forged_sign = dict(form, sign=form["sign"][:-8] + "AAAAAAA=")
    cases = {
        "bad_signature": [dict(form, total_amount="0.01"), dict(form, trade_status="TRADE_FINISHED"), forged_sign],
        "missing_signature": [{k: v for k, v in form.items() if k != "sign"}],
        "unsupported_sign_type": [dict(form, sign_type="RSA")],
    }
    for reason, forms in cases.items():
        for altered in forms:
            with pytest.raises(CallbackRejected) as caught:
                alipay.verify_notify(altered)
            assert caught.value.reason == reason
    with pytest.raises(CallbackRejected) as twice:
        form_from_body(sink.received[-1].body + b"&total_amount=0.01")
    assert twice.value.reason == "malformed_body"


async def test_notifies_are_retried_until_the_body_is_exactly_success(
        sim: PaySim, alipay: AlipayClient, sink: NotifySink) -> None:
    await sim.configure(time_scale=0.0002)  # Alipay's 4 m, 10 m, 10 m, 1 h become 48 ms … 0.72 s
    sink.answers.extend([(200, b"fail"), (200, b"success\n"), (500, b"success"), (200, b"SUCCESS")])
    number = await paid_trade(alipay, sim, sink)
    await sink.wait_for(5, within_s=10)  # 4 refusals, then the default answer: success
    notifications = (await sim.get("notifications", out_trade_no=number))["notifications"]
    assert notifications[0]["state"] == "delivered"
    assert [a["received"] for a in notifications[0]["attempts"]] == [False, False, False, False, True]
    assert len({r.body for r in sink.received}) == 1  # the same notify (same notify_id) each time


async def test_close_and_the_rules_around_it(sim: PaySim, alipay: AlipayClient, sink: NotifySink) -> None:
    number = trade_no()
    await alipay.create_trade(out_trade_no=number, amount_fen=100, subject="学费", buyer_open_id=OPEN_ID)
    await alipay.close(number)
    assert (await alipay.query(number)).trade_status == "TRADE_CLOSED"
    assert (await sim.action("trades", number, "pay")).status_code == 409
    paid = await paid_trade(alipay, sim, sink)
    with pytest.raises(ProviderRejected) as caught:
        await alipay.close(paid)
    assert caught.value.code == "ACQ.TRADE_STATUS_ERROR"


async def test_refunds_partial_repeated_excessive_and_full(sim: PaySim, alipay: AlipayClient,
                                                           sink: NotifySink) -> None:
    number = await paid_trade(alipay, sim, sink, amount_fen=50000)
    first = await alipay.refund(out_trade_no=number, out_request_no=f"{number}-R1", refund_fen=20000,
                                reason="退学退费")
    assert (first.refund_total_fen, first.fund_change) == (20000, True)
    repeat = await alipay.refund(out_trade_no=number, out_request_no=f"{number}-R1", refund_fen=20000)
    assert (repeat.refund_total_fen, repeat.fund_change) == (20000, False)
    refund_notice = alipay.verify_notify(form_from_body((await sink.wait_for(2))[-1].body))
    assert refund_notice.is_refund and not refund_notice.paid
    assert (refund_notice.refund_fee_fen, refund_notice.out_biz_no, refund_notice.trade_status) == (
        20000, f"{number}-R1", "TRADE_SUCCESS")
    status = await alipay.query_refund(out_trade_no=number, out_request_no=f"{number}-R1")
    assert status.refunded and status.refund_fen == 20000
    unknown = await alipay.query_refund(out_trade_no=number, out_request_no=f"{number}-R9")
    assert not unknown.refunded and unknown.refund_fen is None
    with pytest.raises(ProviderRejected) as too_much:
        await alipay.refund(out_trade_no=number, out_request_no=f"{number}-R2", refund_fen=30001)
    assert too_much.value.code == "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"
    await alipay.refund(out_trade_no=number, out_request_no=f"{number}-R2", refund_fen=30000)
    assert (await alipay.query(number)).trade_status == "TRADE_CLOSED"
    closing = alipay.verify_notify(form_from_body((await sink.wait_for(3))[-1].body))
    assert (closing.trade_status, closing.refund_fee_fen) == ("TRADE_CLOSED", 50000)


async def test_wap_pay_url_opens_the_cashier_then_pays(sim: PaySim, alipay: AlipayClient, sink: NotifySink,
                                                       settings: Settings) -> None:
    number = trade_no()
    url = await alipay.wap_pay_url(out_trade_no=number, amount_fen=2500, subject="校服费",
                                   return_url="https://zsb.example.gov.cn/paid", quit_url="https://zsb.example.gov.cn/")
    assert url.startswith(settings.alipay_base_url + "/gateway.do?")
    assert dict(parse_qsl(urlsplit(url).query))["method"] == "alipay.trade.wap.pay"
    async with httpx.AsyncClient() as browser:
        page = await browser.get(url)
    assert page.status_code == 200 and number in page.text and "25.00" in page.text
    await sim.post(f"trades/{number}/pay")
    notice = alipay.verify_notify(form_from_body((await sink.wait_for(1))[-1].body))
    assert notice.paid and notice.buyer_id and notice.buyer_id.startswith("2088")


async def test_trade_bill_zip_downloads_and_parses(sim: PaySim, alipay: AlipayClient, sink: NotifySink) -> None:
    first = await paid_trade(alipay, sim, sink, amount_fen=120000)
    second = await paid_trade(alipay, sim, sink, amount_fen=88)
    await alipay.refund(out_trade_no=first, out_request_no=f"{first}-R1", refund_fen=100)
    bill = await alipay.trade_bill(datetime.now(SHANGHAI).date())
    payments = {row.out_trade_no: row.amount_fen for row in bill.rows if not row.is_refund}
    assert payments == {first: 120000, second: 88}
    assert [(r.out_trade_no, r.amount_fen, r.request_no) for r in bill.rows if r.is_refund] == [
        (first, -100, f"{first}-R1")]
    assert (bill.trade_count, bill.refund_count) == (2, 1)
    empty = await alipay.trade_bill(date(2024, 1, 1))
    assert empty.rows == () and (empty.trade_count, empty.refund_count) == (0, 0)


async def test_the_gateway_refuses_a_request_signed_with_another_key(sim: PaySim, settings: Settings) -> None:
    intruder = AlipayClient.from_settings(settings.model_copy(
        update={"alipay_app_private_key": SecretStr(private_key_text(new_private_key()))}))
    other_app = AlipayClient.from_settings(settings.model_copy(update={"alipay_app_id": "2021000000009999"}))
    try:
        with pytest.raises(ProviderRejected) as forged:
            await intruder.query("ZSB1")
        assert forged.value.code == "isv.invalid-signature"
        with pytest.raises(ProviderRejected) as unknown_app:
            await other_app.query("ZSB1")
        assert unknown_app.value.code == "isv.invalid-app-id"
    finally:
        await intruder.aclose()
        await other_app.aclose()


async def test_an_answer_not_signed_by_alipay_is_not_believed(sim: PaySim, settings: Settings) -> None:
    fooled = AlipayClient.from_settings(settings.model_copy(
        update={"alipay_public_key": public_key_text(new_private_key().public_key())}))
    try:
        with pytest.raises(ProviderUnavailable) as caught:
            await fooled.query("ZSB1")
        assert caught.value.code == "BAD_SIGNATURE" and not caught.value.retryable
    finally:
        await fooled.aclose()


async def test_gateway_down_busy_or_slow_is_unavailable(sim: PaySim, settings: Settings) -> None:
    impatient = AlipayClient.from_settings(settings.model_copy(update={"alipay_timeout_s": 0.3}))
    try:
        await sim.fault(method="alipay.trade.query", http_status=502)
        with pytest.raises(ProviderUnavailable) as down:
            await impatient.query("ZSB1")
        assert (down.value.code, down.value.retryable) == ("HTTP_502", True)
        await sim.fault(sub_code="isp.unknow-error")
        with pytest.raises(ProviderUnavailable) as busy:
            await impatient.query("ZSB1")
        assert (busy.value.code, busy.value.retryable) == ("isp.unknow-error", True)
        await sim.fault(delay_ms=2000)
        with pytest.raises(ProviderUnavailable) as slow:
            await impatient.query("ZSB1")
        assert (slow.value.code, slow.value.retryable) == ("TIMEOUT", True)
    finally:
        await impatient.aclose()
