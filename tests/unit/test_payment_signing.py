"""The signing pieces of both payment providers, each side checked against an independent reading of the rules:
our callback/notify verifiers against the simulators' signers, the simulators' request checks against the
SDKs' signers."""

from __future__ import annotations

import base64
import json
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from alipay.aop.api.util.SignatureUtils import get_sign_content, sign_with_rsa2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from wechatpayv3.utils import build_authorization

from payments.alipay_notify import NotifyVerifier, form_from_body, sign_content
from payments.errors import CallbackRejected
from payments.keys import new_private_key, private_key_pkcs1_pem
from payments.wechatpay_callback import CallbackVerifier, failure_body
from simulators import alipay_sign
from simulators import wechatpay_crypto as wx
from simulators.alipay_state import AlipayError, AlipaySimState
from simulators.wechatpay_model import WxPayError
from simulators.wechatpay_state import WeChatPaySimState

KEY_ID = "PUB_KEY_ID_0119000001092025112500000000000001"
APIV3 = b"0123456789abcdef0123456789abcdef"
MCHID, APPID = "1900000109", "wxd0000000000000mp"


@pytest.fixture(scope="module")
def platform() -> rsa.RSAPrivateKey:
    return new_private_key()


@pytest.fixture(scope="module")
def merchant() -> rsa.RSAPrivateKey:
    return new_private_key()


@pytest.fixture
def verifier(platform: rsa.RSAPrivateKey) -> CallbackVerifier:
    return CallbackVerifier(platform_public_key=platform.public_key(), public_key_id=KEY_ID, apiv3_key=APIV3,
                            mchid=MCHID, appids={APPID})


def transaction(**changes: Any) -> dict[str, Any]:
    return {"appid": APPID, "mchid": MCHID, "out_trade_no": "ZSB0001", "transaction_id": "4200000000001",
            "trade_type": "JSAPI", "trade_state": "SUCCESS", "success_time": "2026-03-01T10:00:00+08:00",
            "payer": {"openid": "oUser"}, "amount": {"total": 100, "payer_total": 100, "currency": "CNY"}} | changes


def callback(key: rsa.RSAPrivateKey, resource: dict[str, Any], *, event: str = "TRANSACTION.SUCCESS",
             apiv3: bytes = APIV3, stamp: int | None = None, key_id: str = KEY_ID) -> tuple[dict[str, str], bytes]:
    original = "transaction" if event.startswith("TRANSACTION") else "refund"
    body = json.dumps({"id": "EV-1", "create_time": "2026-03-01T10:00:01+08:00", "resource_type": "encrypt-resource",
                       "event_type": event, "summary": "支付成功",
                       "resource": wx.encrypt_resource(apiv3, resource, original_type=original,
                                                       associated_data=original)}).encode()
    return wx.signed_headers(key, key_id, body, stamp or int(time.time())), body


def rejected(verifier: CallbackVerifier, headers: dict[str, str], body: bytes, **kwargs: Any) -> str:
    with pytest.raises(CallbackRejected) as caught:
        verifier.verify(headers, body, **kwargs)
    return caught.value.reason


def test_wechatpay_callback_verifies_and_decrypts(verifier: CallbackVerifier, platform: rsa.RSAPrivateKey) -> None:
    headers, body = callback(platform, transaction())
    notice = verifier.verify({k.lower(): v for k, v in headers.items()}, body)  # lower-cased names work too
    assert notice.id == "EV-1" and notice.transaction and notice.transaction.paid
    assert notice.transaction.amount and notice.transaction.amount.total == 100
    refund = {"mchid": MCHID, "out_trade_no": "ZSB0001", "out_refund_no": "R1", "refund_id": "5000",
              "refund_status": "SUCCESS", "amount": {"total": 100, "refund": 40}}
    headers, body = callback(platform, refund, event="REFUND.SUCCESS")
    notice = verifier.verify(headers.get, body)  # a header getter works as well
    assert notice.refund and (notice.refund.out_refund_no, notice.refund.amount.refund) == ("R1", 40)


def test_wechatpay_callback_rejections_say_why(verifier: CallbackVerifier, platform: rsa.RSAPrivateKey) -> None:
    headers, body = callback(platform, transaction())
    stamp = int(headers["Wechatpay-Timestamp"])
    assert rejected(verifier, headers, body, now=stamp - 301) == "stale_timestamp"
    assert rejected(verifier, headers | {"Wechatpay-Timestamp": "soon"}, body) == "bad_timestamp"
    assert rejected(verifier, headers | {"Wechatpay-Serial": "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"},
                    body) == "wrong_serial"
    assert rejected(verifier, headers | {"Wechatpay-Signature-Type": "WECHATPAY2-SM2-WITH-SM3"},
                    body) == "unsupported_signature_type"
    assert rejected(verifier, {}, body) == "missing_headers"
    probe = headers | {"Wechatpay-Signature": "WECHATPAY/SIGNTEST/" + headers["Wechatpay-Signature"]}
    assert rejected(verifier, probe, body) == "bad_signature"  # WeChat's probe: it must fail verification
    assert rejected(verifier, headers, body.replace(b"EV-1", b"EV-2")) == "bad_signature"
    assert rejected(verifier, *callback(new_private_key(), transaction())) == "bad_signature"
    assert rejected(verifier, *callback(platform, transaction(), apiv3=b"x" * 32)) == "decrypt_failed"
    assert rejected(verifier, *callback(platform, transaction(mchid="1900000999"))) == "wrong_mchid"
    assert rejected(verifier, *callback(platform, transaction(appid="wx0ther"))) == "wrong_appid"
    assert rejected(verifier, *callback(platform, transaction(), event="TRANSACTION.REFUNDED")) == \
        "unknown_event_type"
    assert rejected(verifier, *callback(platform, {"appid": APPID})) == "malformed_resource"
    assert json.loads(failure_body("验签失败")) == {"code": "FAIL", "message": "验签失败"}


def test_simulator_accepts_exactly_what_the_sdk_signs(merchant: rsa.RSAPrivateKey,
                                                      platform: rsa.RSAPrivateKey) -> None:
    sim = WeChatPaySimState(mchid=MCHID, appids={APPID}, merchant_serial="ABC123", merchant_key=merchant.public_key(),
                            platform_key=platform, platform_key_id=KEY_ID, apiv3_key=APIV3, time_scale=0.01)
    url, body = "/v3/pay/transactions/out-trade-no/ZSB0001/close", json.dumps({"mchid": MCHID})
    auth = build_authorization(url, "POST", MCHID, "ABC123", merchant, data=body)
    sim.authenticate("POST", url, {"Authorization": auth}.get, body.encode())
    for changed in ({"url": url + "x"}, {"body": body + " "}, {"method": "GET"}):
        args = {"method": "POST", "url": url, "body": body} | changed
        with pytest.raises(WxPayError) as caught:
            sim.authenticate(args["method"], args["url"], {"Authorization": auth}.get, args["body"].encode())
        assert (caught.value.status, caught.value.code) == (401, "SIGN_ERROR")
    other = build_authorization(url, "POST", MCHID, "ABC123", new_private_key(), data=body)
    with pytest.raises(WxPayError):
        sim.authenticate("POST", url, {"Authorization": other}.get, body.encode())
    with pytest.raises(WxPayError) as malformed:
        sim.authenticate("POST", url, {"Authorization": "Bearer x"}.get, body.encode())
    assert malformed.value.message == "Authorization不合法"


# -- Alipay ----------------------------------------------------------------------------------------------------
APP_ID, SELLER = "2021000000000001", "2088000000000001"


def notify_form(key: rsa.RSAPrivateKey, **changes: str) -> dict[str, str]:
    form = {"notify_time": "2026-03-01 10:00:02", "notify_type": "trade_status_sync", "notify_id": "ac05099524730",
            "app_id": APP_ID, "seller_id": SELLER, "charset": "utf-8", "version": "1.0", "sign_type": "RSA2",
            "trade_no": "2026030122001400000000000001", "out_trade_no": "ZSB0001", "trade_status": "TRADE_SUCCESS",
            "total_amount": "88.88", "receipt_amount": "88.88", "gmt_payment": "2026-03-01 10:00:01",
            "buyer_open_id": "074a", "subject": "学费", "body": ""} | changes
    form["sign"] = alipay_sign.sign(key, alipay_sign.sign_content(form, exclude=("sign", "sign_type")))
    return form


def test_alipay_notify_verifies_over_sorted_non_empty_params(platform: rsa.RSAPrivateKey) -> None:
    verifier = NotifyVerifier(alipay_public_key=platform.public_key(), app_id=APP_ID, seller_id=SELLER)
    form = notify_form(platform)
    assert "body=" not in sign_content(form) and "sign_type" not in sign_content(form)
    notice = verifier.verify(form)
    assert (notice.total_fen, notice.paid, notice.gmt_payment and notice.gmt_payment.hour) == (8888, True, 10)
    assert verifier.verify(form_from_body(urlencode(form).encode())).out_trade_no == "ZSB0001"
    refund = verifier.verify(notify_form(platform, refund_fee="10.00", gmt_refund="2026-03-02 09:00:00.123",
                                         out_biz_no="R1"))
    assert refund.is_refund and refund.refund_fee_fen == 1000 and not refund.paid

    def reason(form: dict[str, str]) -> str:
        with pytest.raises(CallbackRejected) as caught:
            verifier.verify(form)
        return caught.value.reason

    assert reason(form | {"total_amount": "0.01"}) == "bad_signature"
    assert reason(notify_form(new_private_key())) == "bad_signature"
    assert reason(notify_form(platform, app_id="2021000000009999")) == "wrong_app_id"
    assert reason(notify_form(platform, seller_id="2088000000009999")) == "wrong_seller_id"
    assert reason(notify_form(platform, notify_type="batch_trans_notify")) == "unknown_notify_type"
    assert reason(notify_form(platform, total_amount="88.888")) == "malformed_notify"


def test_alipay_gateway_accepts_exactly_what_the_sdk_signs(merchant: rsa.RSAPrivateKey,
                                                           platform: rsa.RSAPrivateKey) -> None:
    sim = AlipaySimState(app_id=APP_ID, app_key=merchant.public_key(), alipay_key=platform, seller_id=SELLER,
                         time_scale=0.01)
    params = {"app_id": APP_ID, "method": "alipay.trade.query", "charset": "utf-8", "format": "json",
              "sign_type": "RSA2", "timestamp": "2026-03-01 10:00:00", "version": "1.0",
              "biz_content": '{"out_trade_no":"ZSB0001"}'}
    params["sign"] = sign_with_rsa2(private_key_pkcs1_pem(merchant), get_sign_content(params), "utf-8")
    sim.authenticate(params)
    for changed in ({"biz_content": '{"out_trade_no":"ZSB0002"}'}, {"sign_type": "RSA"}, {"app_id": "1"}):
        with pytest.raises(AlipayError):
            sim.authenticate(params | changed)
    answer = alipay_sign.signed_answer(platform, "alipay.trade.query", {"code": "10000", "msg": "Success"})
    content = answer.split(b'"alipay_trade_query_response":', 1)[1].split(b',"sign":"', 1)[0]
    signature = base64.b64decode(json.loads(answer)["sign"])
    platform.public_key().verify(signature, content, padding.PKCS1v15(), hashes.SHA256())
