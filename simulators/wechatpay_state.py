"""State and rules of the WeChat Pay v3 simulator: the merchant it serves, request authentication, JSAPI orders,
refunds, bills, callbacks, injected faults and counters. The HTTP side is simulators/wechatpay.py.

Rules kept from WeChat Pay: an order is one out_trade_no per merchant (the same request again gets the same
prepay_id, a different one is OUT_TRADE_NO_USED); only NOTPAY orders can be paid or closed; a paid order closes
as ORDERPAID; refunds never exceed what is left; a refund is accepted as PROCESSING and settles later, with a
REFUND.SUCCESS callback; only successful payments call back (TRANSACTION.SUCCESS).
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import re
import secrets
import time
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from simulators import wechatpay_crypto as crypto
from simulators.notify_delivery import WECHATPAY_SCHEDULE_S, Notifier
from simulators.wechatpay_bill import BillLine, render
from simulators.wechatpay_model import (
    SHANGHAI,
    Fault,
    Order,
    Refund,
    WxPayError,
    bill_lines,
    refund_notice,
    refund_view,
    required,
    rfc3339,
    transaction_view,
)

MAX_SKEW_S = 300
BILL_URL_TTL_S = 300  # WeChat Pay: a download_url works for 5 minutes
_OUT_NO = re.compile(r"[0-9A-Za-z_\-|*]{6,32}")


class WeChatPaySimState:
    def __init__(self, *, mchid: str, appids: set[str], merchant_serial: str, merchant_key: rsa.RSAPublicKey,
                 platform_key: rsa.RSAPrivateKey, platform_key_id: str, apiv3_key: bytes, time_scale: float) -> None:
        self.mchid, self.appids, self.merchant_serial = mchid, set(appids), merchant_serial
        self.merchant_key, self.platform_key, self.platform_key_id = merchant_key, platform_key, platform_key_id
        self.apiv3_key = apiv3_key
        self.notifier = Notifier(schedule_s=WECHATPAY_SCHEDULE_S, accepts=lambda status, _body: 200 <= status < 300,
                                 time_scale=time_scale)
        self.reset()

    def reset(self) -> None:
        self.notifier.reset()
        for handle in getattr(self, "_timers", []):
            handle.cancel()
        self._timers: list[asyncio.TimerHandle] = []
        self.orders: dict[str, Order] = {}
        self.refunds: dict[str, Refund] = {}
        self.bill_files: dict[str, tuple[float, bytes]] = {}  # token -> (expires at, file bytes)
        self.faults: list[Fault] = []
        self.refund_settle_after_s = 60.0  # simulated seconds (× time scale) from PROCESSING to SUCCESS
        self.auto_settle_refunds = True  # False: refunds stay PROCESSING until the control API settles them
        self.calls: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()

    # -- authentication ---------------------------------------------------------------------------------------
    def authenticate(self, method: str, url: str, header: Callable[[str], str | None], body: bytes) -> None:
        """Raise 401 SIGN_ERROR unless the request carries a fresh merchant signature over exactly these bytes."""
        fields = crypto.parse_authorization(header("Authorization"))
        if fields is None:
            raise WxPayError(401, "SIGN_ERROR", "Authorization不合法")
        if fields["mchid"] != self.mchid:
            raise WxPayError(401, "SIGN_ERROR", "商户号不存在或与签名不符", {"field": "mchid"})
        if fields["serial_no"].upper() != self.merchant_serial.upper():
            raise WxPayError(401, "SIGN_ERROR", "商户证书序列号有误。请使用签名私钥匹配的证书序列号",
                             {"field": "serial_no", "location": "authorization"})
        try:
            skew = abs(time.time() - int(fields["timestamp"]))
        except ValueError:
            skew = float("inf")
        if skew > MAX_SKEW_S:
            raise WxPayError(401, "SIGN_ERROR", "签名中的时间戳已过期或不合法",
                             {"field": "timestamp", "location": "authorization"})
        message = crypto.request_message(method, url, fields["timestamp"], fields["nonce_str"], body)
        if not crypto.verify(self.merchant_key, message, fields["signature"]):
            raise WxPayError(401, "SIGN_ERROR", "错误的签名，验签失败", {
                "detail": {"issue": "sign not match"}, "field": "signature", "location": "authorization",
                "sign_information": {"method": method, "url": url, "sign_message_length": len(message),
                                     "truncated_sign_message": message[:40].decode("utf-8", "replace")}})
        serial = header("Wechatpay-Serial")
        if serial is not None and serial != self.platform_key_id:
            raise WxPayError(400, "INVALID_REQUEST", "Wechatpay-Serial对应的微信支付公钥不存在或已失效")

    def take_fault(self, api: str) -> Fault | None:
        for fault in self.faults:
            if fault.api in (None, api):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    # -- JSAPI orders -----------------------------------------------------------------------------------------
    def prepay(self, body: dict[str, Any]) -> dict[str, str]:
        for path, name in (("appid", "应用ID"), ("mchid", "直连商户号"), ("description", "商品描述"),
                           ("out_trade_no", "商户订单号"), ("notify_url", "通知地址")):
            if not isinstance(body.get(path), str) or not body[path]:
                raise required(f"/body/{path}", name)
        amount, payer = body.get("amount"), body.get("payer")
        total = amount.get("total") if isinstance(amount, dict) else None
        if not isinstance(total, int) or isinstance(total, bool) or total < 1:
            raise required("/body/amount/total", "总金额")
        openid = payer.get("openid") if isinstance(payer, dict) else None
        if not isinstance(openid, str) or not openid:
            raise required("/body/payer/openid", "用户标识")
        if body["mchid"] != self.mchid:
            raise WxPayError(400, "PARAM_ERROR", "请求中的商户号与签名中的商户号不一致")
        if body["appid"] not in self.appids:
            raise WxPayError(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        if not _OUT_NO.fullmatch(body["out_trade_no"]):
            raise WxPayError(400, "PARAM_ERROR", "商户订单号只能是6-32位数字、大小写字母_-|*")
        if len(body["description"].encode()) > 127 or not body["notify_url"].startswith(("http://", "https://")):
            raise WxPayError(400, "PARAM_ERROR", "description 或 notify_url 格式错误")
        if amount.get("currency", "CNY") != "CNY":
            raise WxPayError(400, "PARAM_ERROR", "暂只支持人民币CNY")
        expires_at = None
        if body.get("time_expire"):
            try:
                expires_at = datetime.fromisoformat(str(body["time_expire"]))
            except ValueError:
                raise WxPayError(400, "PARAM_ERROR", "time_expire 须为 rfc3339 格式") from None
            if expires_at.tzinfo is None:
                raise WxPayError(400, "PARAM_ERROR", "time_expire 须带时区")
        existing = self.orders.get(body["out_trade_no"])
        if existing is not None:
            same = (existing.appid, existing.description, existing.total, existing.openid) == (
                body["appid"], body["description"], total, openid)
            if existing.trade_state == "CLOSED":
                raise WxPayError(400, "ORDER_CLOSED", "订单已关闭")
            if not same or existing.trade_state != "NOTPAY":
                raise WxPayError(403, "OUT_TRADE_NO_USED", "商户订单号重复")
            return {"prepay_id": existing.prepay_id}
        now = datetime.now(SHANGHAI)
        prepay_id = "wx" + now.strftime("%d%H%M%S") + secrets.token_hex(13)
        self.orders[body["out_trade_no"]] = Order(
            body["out_trade_no"], body["appid"], body["description"], total, openid, body["notify_url"],
            str(body.get("attach") or ""), expires_at, prepay_id, now)
        return {"prepay_id": prepay_id}

    def order(self, out_trade_no: str) -> Order:
        found = self.orders.get(out_trade_no)
        if found is None:
            raise WxPayError(404, "ORDER_NOT_EXIST", "订单不存在")
        return found

    def close(self, out_trade_no: str, body: dict[str, Any]) -> None:
        """WeChat answers 204 for an unknown or already closed order too (it only refuses a paid one)."""
        if body.get("mchid") != self.mchid:
            raise required("/body/mchid", "直连商户号") if not body.get("mchid") else WxPayError(
                400, "PARAM_ERROR", "请求中的商户号与签名中的商户号不一致")
        order = self.orders.get(out_trade_no)
        if order is None:
            return
        if order.trade_state in ("SUCCESS", "REFUND"):
            raise WxPayError(400, "ORDERPAID", "订单已支付")
        order.trade_state = "CLOSED"

    # -- what the person on the phone does (control API) ------------------------------------------------------
    def pay(self, out_trade_no: str, success_time: datetime | None = None) -> Order:
        order = self.order(out_trade_no)
        if order.trade_state != "NOTPAY":
            raise WxPayError(409, "ORDER_STATE", f"订单状态为 {order.trade_state}，不能支付")
        if order.expires_at is not None and order.expires_at < datetime.now(SHANGHAI):
            raise WxPayError(409, "ORDER_EXPIRED", "订单已过 time_expire，不能支付")
        paid_at = (success_time or datetime.now(SHANGHAI)).astimezone(SHANGHAI)
        order.trade_state, order.success_time = "SUCCESS", paid_at.replace(microsecond=0)
        order.transaction_id = "4200" + paid_at.strftime("%Y%m%d") + f"{secrets.randbelow(10**16):016d}"
        order.events.append("pay")
        self._callback("TRANSACTION.SUCCESS", "支付成功", order.notify_url, "transaction", transaction_view(order, self.mchid),
                       {"out_trade_no": order.out_trade_no})
        return order

    def fail(self, out_trade_no: str) -> Order:
        order = self.order(out_trade_no)
        if order.trade_state != "NOTPAY":
            raise WxPayError(409, "ORDER_STATE", f"订单状态为 {order.trade_state}")
        order.trade_state = "PAYERROR"
        order.events.append("fail")
        return order

    def abandon(self, out_trade_no: str) -> Order:
        """The person closed the cashier: nothing changes at WeChat Pay (the order stays NOTPAY, no callback)."""
        order = self.order(out_trade_no)
        order.events.append("abandon")
        return order

    # -- refunds ----------------------------------------------------------------------------------------------
    def refund(self, body: dict[str, Any]) -> dict[str, Any]:
        if not body.get("out_refund_no"):
            raise required("/body/out_refund_no", "商户退款单号")
        amount = body.get("amount") if isinstance(body.get("amount"), dict) else {}
        refund_fen, total = amount.get("refund"), amount.get("total")
        if not isinstance(refund_fen, int) or refund_fen < 1 or not isinstance(total, int):
            raise required("/body/amount/refund", "退款金额")
        order = self._order_for_refund(body)
        existing = self.refunds.get(body["out_refund_no"])
        if existing is not None:
            if (existing.order, existing.refund) != (order, refund_fen):
                raise WxPayError(400, "INVALID_REQUEST", "订单金额或退款金额与之前请求不一致，请核实后再试")
            return refund_view(existing)
        if order.trade_state not in ("SUCCESS", "REFUND"):
            raise WxPayError(400, "INVALID_REQUEST", "订单未支付，不能退款")
        if total != order.total:
            raise WxPayError(400, "INVALID_REQUEST", "订单金额与原订单金额不一致")
        refunded = sum(r.refund for r in self.refunds.values() if r.order is order and r.status != "CLOSED")
        if refund_fen > order.total - refunded:
            raise WxPayError(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
        now = datetime.now(SHANGHAI).replace(microsecond=0)
        refund = Refund(body["out_refund_no"], "50" + f"{secrets.randbelow(10**27):027d}", order, refund_fen,
                        str(body.get("reason") or ""), body.get("notify_url") or None, now)
        self.refunds[refund.out_refund_no] = refund
        if self.auto_settle_refunds:
            delay = self.refund_settle_after_s * self.notifier.time_scale
            self._timers.append(asyncio.get_running_loop().call_later(delay, self._auto_settle, refund))
        return refund_view(refund)

    def _order_for_refund(self, body: dict[str, Any]) -> Order:
        if body.get("transaction_id"):
            for order in self.orders.values():
                if order.transaction_id == body["transaction_id"]:
                    return order
        elif body.get("out_trade_no") and body["out_trade_no"] in self.orders:
            return self.orders[body["out_trade_no"]]
        elif not body.get("out_trade_no"):
            raise required("/body/out_trade_no", "商户订单号")
        raise WxPayError(404, "RESOURCE_NOT_EXISTS", "订单不存在")

    def _auto_settle(self, refund: Refund) -> None:
        if refund.status == "PROCESSING":
            self.settle_refund(refund.out_refund_no, "SUCCESS")

    def settle_refund(self, out_refund_no: str, status: str) -> Refund:
        refund = self.refund_by_no(out_refund_no)
        if status not in ("SUCCESS", "ABNORMAL", "CLOSED"):
            raise WxPayError(400, "PARAM_ERROR", "status must be SUCCESS, ABNORMAL or CLOSED")
        if refund.status != "PROCESSING":
            raise WxPayError(409, "REFUND_STATE", f"退款状态为 {refund.status}")
        refund.status = status
        if status == "SUCCESS":
            refund.success_time = datetime.now(SHANGHAI).replace(microsecond=0)
            refund.order.trade_state = "REFUND"
        if refund.notify_url:
            event = {"SUCCESS": ("REFUND.SUCCESS", "退款成功"), "ABNORMAL": ("REFUND.ABNORMAL", "退款异常"),
                     "CLOSED": ("REFUND.CLOSED", "退款关闭")}[status]
            self._callback(*event, refund.notify_url, "refund", refund_notice(refund, self.mchid),
                           {"out_trade_no": refund.order.out_trade_no, "out_refund_no": out_refund_no})
        return refund

    def refund_by_no(self, out_refund_no: str) -> Refund:
        found = self.refunds.get(out_refund_no)
        if found is None:
            raise WxPayError(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
        return found

    # -- callbacks --------------------------------------------------------------------------------------------
    def _callback(self, event_type: str, summary: str, url: str, original_type: str, resource: dict[str, Any],
                  subject: dict[str, str]) -> None:
        notice_id = "EV-" + datetime.now(SHANGHAI).strftime("%Y%m%d%H%M%S") + f"{secrets.randbelow(10**6):06d}"
        envelope = {"id": notice_id, "create_time": rfc3339(datetime.now(SHANGHAI)), "resource_type":
                    "encrypt-resource", "event_type": event_type, "summary": summary,
                    "resource": crypto.encrypt_resource(self.apiv3_key, resource, original_type=original_type,
                                                        associated_data=original_type)}
        body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()

        def build() -> tuple[bytes, dict[str, str]]:  # same body each time, signed afresh like WeChat Pay
            headers = crypto.signed_headers(self.platform_key, self.platform_key_id, body, int(time.time()))
            return body, headers | {"Content-Type": "application/json"}

        self.notifier.submit(event_type, url, {"notice_id": notice_id, **subject}, build)

    # -- bills ------------------------------------------------------------------------------------------------
    def bill_lines(self) -> list[BillLine]:
        return bill_lines(self.orders.values(), self.refunds.values(), self.mchid)

    def trade_bill(self, query: Callable[[str], str | None], base_url: str) -> dict[str, str]:
        """`GET /v3/bill/tradebill`: a download URL valid 5 minutes and the SHA1 of the uncompressed file. A day
        with no transaction has no bill (NO_STATEMENT_EXIST), as at WeChat Pay."""
        try:
            day = date.fromisoformat(query("bill_date") or "")
        except ValueError:
            raise required("/query/bill_date", "账单日期") from None
        bill_type, tar_type = query("bill_type") or "ALL", query("tar_type")
        if bill_type not in ("ALL", "SUCCESS", "REFUND") or tar_type not in (None, "GZIP"):
            raise WxPayError(400, "PARAM_ERROR", "bill_type 或 tar_type 取值错误")
        if day > datetime.now(SHANGHAI).date():
            raise WxPayError(400, "INVALID_REQUEST", "账单日期不能晚于今天")
        lines = [line for line in self.bill_lines() if line.at.date() == day]
        if not lines:
            raise WxPayError(400, "NO_STATEMENT_EXIST", "账单文件不存在")
        raw = render(day, lines, bill_type)
        token = secrets.token_urlsafe(32)
        self.bill_files[token] = (time.time() + BILL_URL_TTL_S, gzip.compress(raw) if tar_type else raw)
        url = f"{base_url}/v3/billdownload/file?token={token}" + ("&tartype=gzip" if tar_type else "")
        return {"hash_type": "SHA1", "hash_value": hashlib.sha1(raw, usedforsecurity=False).hexdigest(),
                "download_url": url}

    def bill_file(self, token: str | None) -> bytes:
        found = self.bill_files.get(token or "")
        if found is None or found[0] < time.time():
            raise WxPayError(400, "INVALID_REQUEST", "下载链接过期，请重新请求文件下载")
        return found[1]

    def stats(self) -> dict[str, Any]:
        states = Counter(o.trade_state for o in self.orders.values())
        return {"calls": dict(self.calls), "rejected": dict(self.rejected), "orders": len(self.orders),
                "orders_by_state": dict(states), "refunds": len(self.refunds),
                "faults_pending": [f.describe() for f in self.faults], **self.notifier.stats()}
