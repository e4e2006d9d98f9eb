"""WeChat Pay through the real adapter (wechatpayv3's async SDK) against the simulator: orders, signed and
encrypted callbacks to a real notify endpoint, refunds, bills, and every way a request or a callback is refused."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from pydantic import SecretStr

from config.settings import Settings
from payments.errors import CallbackRejected, ProviderRejected, ProviderUnavailable, TradeNotFound
from payments.keys import load_private_key, new_private_key, private_key_text, public_key_text
from payments.wechatpay import WeChatPayClient
from payments.wechatpay_callback import failure_body
from tests.support.payments import NotifySink, PaySim, fresh_pay_sim

SHANGHAI = ZoneInfo("Asia/Shanghai")
OPENID = "oParentChen000000000000001"


@pytest.fixture
async def sim(simulators: str) -> AsyncIterator[PaySim]:
    async with fresh_pay_sim(simulators, "wechatpay") as control:
        yield control


@pytest.fixture
async def sink() -> AsyncIterator[NotifySink]:
    endpoint = NotifySink(default=(204, b""))
    yield endpoint
    endpoint.stop()


@pytest.fixture
async def pay(settings: Settings, sink: NotifySink) -> AsyncIterator[WeChatPayClient]:
    client = WeChatPayClient.from_settings(settings.model_copy(update={"wechatpay_notify_url": sink.url()}))
    yield client
    await client.aclose()


def order_no() -> str:
    return f"ZSB{time.time_ns()}"[:32]


async def paid_order(pay: WeChatPayClient, sim: PaySim, sink: NotifySink, amount_fen: int = 120000) -> str:
    number = order_no()
    await pay.prepay(out_trade_no=number, description="2026年春季学期学费", amount_fen=amount_fen,
                     payer_openid=OPENID)
    await sim.post(f"orders/{number}/pay")
    await sink.wait_for(len(sink.received) + 1)
    return number


async def test_prepay_gives_signed_request_payment_and_a_retry_the_same_prepay_id(
        sim: PaySim, pay: WeChatPayClient, settings: Settings) -> None:
    number = order_no()
    prepay = await pay.prepay(out_trade_no=number, description="学费", amount_fen=8800, payer_openid=OPENID,
                              expires_at=datetime.now(SHANGHAI) + timedelta(minutes=30))
    params = prepay.request_payment.as_dict()
    assert params["appId"] == settings.wechatpay_appid and params["signType"] == "RSA"
    assert params["package"] == f"prepay_id={prepay.prepay_id}"
    merchant = load_private_key(settings.wechatpay_merchant_private_key.get_secret_value()).public_key()
    message = f"{params['appId']}\n{params['timeStamp']}\n{params['nonceStr']}\n{params['package']}\n".encode()
    merchant.verify(base64.b64decode(params["paySign"]), message, padding.PKCS1v15(), hashes.SHA256())
    again = await pay.prepay(out_trade_no=number, description="学费", amount_fen=8800, payer_openid=OPENID)
    assert again.prepay_id == prepay.prepay_id
    with pytest.raises(ProviderRejected) as changed:
        await pay.prepay(out_trade_no=number, description="学费", amount_fen=9900, payer_openid=OPENID)
    assert changed.value.code == "OUT_TRADE_NO_USED"
    transaction = await pay.query(number)
    assert (transaction.trade_state, transaction.amount.total if transaction.amount else None) == ("NOTPAY", 8800)
    assert not transaction.paid


async def test_paying_sends_a_signed_encrypted_callback_that_verifies(
        sim: PaySim, pay: WeChatPayClient, sink: NotifySink) -> None:
    number = await paid_order(pay, sim, sink, amount_fen=120000)
    received = sink.received[-1]
    assert received.headers["Wechatpay-Serial"].startswith("PUB_KEY_ID_")
    notice = pay.verify_callback(received.headers, received.body)
    assert notice.event_type == "TRANSACTION.SUCCESS" and notice.transaction is not None
    transaction = notice.transaction
    assert (transaction.out_trade_no, transaction.trade_state, transaction.payer and transaction.payer.openid) == (
        number, "SUCCESS", OPENID)
    assert transaction.amount and transaction.amount.total == transaction.amount.payer_total == 120000
    queried = await pay.query(number)
    assert queried.paid and queried.transaction_id == transaction.transaction_id
    callbacks = (await sim.get("callbacks", out_trade_no=number))["callbacks"]
    assert [c["state"] for c in callbacks] == ["delivered"]


async def test_forged_stale_misattributed_or_altered_callbacks_are_refused(
        sim: PaySim, pay: WeChatPayClient, sink: NotifySink) -> None:
    await paid_order(pay, sim, sink)
    received = sink.received[-1]
    headers, body = received.headers, received.body
    forger = new_private_key()
    stamp, nonce = headers["Wechatpay-Timestamp"], headers["Wechatpay-Nonce"]
    forged = base64.b64encode(forger.sign(f"{stamp}\n{nonce}\n".encode() + body + b"\n", padding.PKCS1v15(),
                                          hashes.SHA256())).decode()
    cases = {
        "bad_signature": (headers | {"Wechatpay-Signature": forged}, body),
        "wrong_serial": (headers | {"Wechatpay-Serial": "PUB_KEY_ID_0000000000000000000000000000000000"}, body),
        "missing_headers": ({k: v for k, v in headers.items() if k != "Wechatpay-Signature"}, body),
    }
    tampered = json.loads(body)
    tampered["summary"] = "支付成功!"
    cases["bad_signature "] = (headers, json.dumps(tampered, ensure_ascii=False, separators=(",", ":")).encode())
    for reason, (h, b) in cases.items():
        with pytest.raises(CallbackRejected) as caught:
            pay.verify_callback(h, b)
        assert caught.value.reason == reason.strip()
    with pytest.raises(CallbackRejected) as stale:
        pay.verify_callback(headers, body, now=int(stamp) + 301)
    assert stale.value.reason == "stale_timestamp"
    assert pay.verify_callback(headers, body, now=int(stamp) + 299).transaction is not None


async def test_callbacks_are_retried_until_the_merchant_answers_2xx(
        sim: PaySim, pay: WeChatPayClient, sink: NotifySink) -> None:
    sink.answers.extend([(500, failure_body("系统繁忙")), (401, failure_body("签名错误")), (200, b"")])
    number = await paid_order(pay, sim, sink)
    await sink.wait_for(3)
    await asyncio.sleep(0.1)  # a fourth would come 30 ms (scaled) later if the 200 were not taken as received
    callbacks = (await sim.get("callbacks", out_trade_no=number))["callbacks"]
    assert callbacks[0]["state"] == "delivered"
    assert [a["status"] for a in callbacks[0]["attempts"]] == [500, 401, 200]
    assert len(sink.received) == 3 and len({r.headers["Wechatpay-Nonce"] for r in sink.received}) == 3
    assert len({r.body for r in sink.received}) == 1  # the same notice each time (same id), signed afresh
    duplicates = await sim.post(f"callbacks/{callbacks[0]['id']}/resend", {"times": 10})
    assert len(duplicates["attempts"]) == 10 and len(sink.received) == 13
    notices = {pay.verify_callback(r.headers, r.body).id for r in sink.received}
    assert len(notices) == 1


async def test_close_refuses_a_paid_order_and_a_closed_order_cannot_be_paid(
        sim: PaySim, pay: WeChatPayClient, sink: NotifySink) -> None:
    number = order_no()
    await pay.prepay(out_trade_no=number, description="学费", amount_fen=100, payer_openid=OPENID)
    await pay.close(number)
    assert (await pay.query(number)).trade_state == "CLOSED"
    assert (await sim.action("orders", number, "pay")).status_code == 409
    paid = await paid_order(pay, sim, sink)
    with pytest.raises(ProviderRejected) as caught:
        await pay.close(paid)
    assert caught.value.code == "ORDERPAID" and caught.value.status == 400
    with pytest.raises(TradeNotFound):
        await pay.query("NEVER" + order_no()[5:])


async def test_refund_is_processing_then_settled_by_a_refund_callback(
        sim: PaySim, pay: WeChatPayClient, sink: NotifySink) -> None:
    number = await paid_order(pay, sim, sink, amount_fen=50000)
    refund = await pay.refund(out_trade_no=number, out_refund_no=f"R{number}", refund_fen=20000, total_fen=50000,
                              reason="退学退费", notify_url=sink.url("refund"))
    assert refund.status == "PROCESSING" and refund.amount.refund == 20000
    assert (await pay.refund(out_trade_no=number, out_refund_no=f"R{number}", refund_fen=20000,
                             total_fen=50000)).refund_id == refund.refund_id  # a retry is the same refund
    received = (await sink.wait_for(2))[-1]
    assert received.path == "refund"
    notice = pay.verify_callback(received.headers, received.body)
    assert notice.event_type == "REFUND.SUCCESS" and notice.refund is not None
    assert (notice.refund.out_refund_no, notice.refund.refund_status, notice.refund.amount.refund) == (
        f"R{number}", "SUCCESS", 20000)
    assert (await pay.query_refund(f"R{number}")).status == "SUCCESS"
    assert (await pay.query(number)).trade_state == "REFUND"
    with pytest.raises(ProviderRejected) as too_much:
        await pay.refund(out_trade_no=number, out_refund_no=f"S{number}", refund_fen=30001, total_fen=50000)
    assert too_much.value.code == "INVALID_REQUEST"


async def test_abnormal_refund_is_reported_by_callback(sim: PaySim, pay: WeChatPayClient, sink: NotifySink) -> None:
    await sim.configure(auto_settle_refunds=False)
    number = await paid_order(pay, sim, sink, amount_fen=300)
    await pay.refund(out_trade_no=number, out_refund_no=f"R{number}", refund_fen=300, total_fen=300,
                     notify_url=sink.url("refund"))
    assert (await pay.query_refund(f"R{number}")).status == "PROCESSING"
    await sim.post(f"refunds/R{number}/settle", {"status": "ABNORMAL"})
    received = (await sink.wait_for(2))[-1]
    assert pay.verify_callback(received.headers, received.body).event_type == "REFUND.ABNORMAL"


async def test_trade_bill_downloads_and_parses(sim: PaySim, pay: WeChatPayClient, sink: NotifySink) -> None:
    first = await paid_order(pay, sim, sink, amount_fen=120000)
    second = await paid_order(pay, sim, sink, amount_fen=88)
    await pay.refund(out_trade_no=first, out_refund_no=f"R{first}", refund_fen=100, total_fen=120000)
    today = datetime.now(SHANGHAI).date()
    bill = await pay.trade_bill(today)
    payments = {row.out_trade_no: row.settlement_fen for row in bill.rows if not row.is_refund}
    assert payments == {first: 120000, second: 88}
    refunds = [(row.out_trade_no, row.out_refund_no, row.refund_fen) for row in bill.rows if row.is_refund]
    assert refunds == [(first, f"R{first}", 100)]
    assert (bill.count, bill.settlement_total_fen, bill.refund_total_fen) == (3, 120088, 100)
    empty = await pay.trade_bill(date(2024, 1, 1))
    assert empty.rows == () and empty.count == 0


async def test_the_simulator_refuses_requests_signed_with_another_key(
        sim: PaySim, settings: Settings) -> None:
    intruder = WeChatPayClient.from_settings(settings.model_copy(
        update={"wechatpay_merchant_private_key": SecretStr(private_key_text(new_private_key()))}))
    wrong_serial = WeChatPayClient.from_settings(settings.model_copy(update={"wechatpay_merchant_serial": "ABC"}))
    try:
        for client in (intruder, wrong_serial):
            with pytest.raises(ProviderRejected) as caught:
                await client.query("ZSB00000001")
            assert (caught.value.code, caught.value.status) == ("SIGN_ERROR", 401)
    finally:
        await intruder.aclose()
        await wrong_serial.aclose()
    assert (await sim.stats())["rejected"]["SIGN_ERROR"] == 2


async def test_an_answer_not_signed_by_wechat_pay_is_not_believed(sim: PaySim, settings: Settings) -> None:
    fooled = WeChatPayClient.from_settings(settings.model_copy(
        update={"wechatpay_platform_public_key": public_key_text(new_private_key().public_key())}))
    try:
        with pytest.raises(ProviderUnavailable) as caught:
            await fooled.prepay(out_trade_no=order_no(), description="学费", amount_fen=1, payer_openid=OPENID)
        assert caught.value.code == "BAD_SIGNATURE" and not caught.value.retryable
    finally:
        await fooled.aclose()


async def test_provider_errors_and_slowness_are_unavailable_and_retryable(
        sim: PaySim, settings: Settings) -> None:
    impatient = WeChatPayClient.from_settings(settings.model_copy(update={"wechatpay_timeout_s": 0.3}))
    try:
        await sim.fault(api="query", http_status=500)
        with pytest.raises(ProviderUnavailable) as down:
            await impatient.query("ZSB00000001")
        assert (down.value.code, down.value.status, down.value.retryable) == ("SYSTEM_ERROR", 500, True)
        await sim.fault(api="query", delay_ms=2000)
        with pytest.raises(ProviderUnavailable) as slow:
            await impatient.query("ZSB00000001")
        assert slow.value.code == "TIMEOUT" and slow.value.retryable
    finally:
        await impatient.aclose()
