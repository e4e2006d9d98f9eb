"""State and rules of the Alipay gateway simulator: the app it serves, request verification, trades, refunds,
bills, async notifies, faults and counters. The HTTP side is simulators/alipay.py.

Rules kept from Alipay: one trade per out_trade_no (the same create again gets the same trade_no, other terms
are ACQ.CONTEXT_INCONSISTENT); only WAIT_BUYER_PAY trades are paid or closed; refunds are synchronous, keyed by
out_request_no (a repeat answers fund_change N), never above what is left, and a full refund closes the trade;
notifies go out for TRADE_SUCCESS / TRADE_FINISHED and after refunds, until the merchant answers `success`.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric import rsa

from simulators import alipay_sign
from simulators.alipay_bill import BillEntry, render_zip
from simulators.alipay_errors import AlipayError, business, invalid
from simulators.alipay_oauth import AlipayOAuth
from simulators.notify_delivery import ALIPAY_SCHEDULE_S, Notifier

SHANGHAI = ZoneInfo("Asia/Shanghai")
BILL_URL_TTL_S = 30  # Alipay: a bill_download_url works for 30 seconds
STAMP = "%Y-%m-%d %H:%M:%S"


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def amount_fen(text: Any, name: str) -> int:
    try:
        value = Decimal(str(text))
    except InvalidOperation:
        raise business("ACQ.INVALID_PARAMETER", f"参数无效{name}") from None
    if value != value.quantize(Decimal("0.01")) or not Decimal("0.01") <= value <= Decimal("100000000"):
        raise business("ACQ.INVALID_PARAMETER", f"参数无效{name}")
    return int(value * 100)


@dataclass
class Trade:
    out_trade_no: str
    trade_no: str
    total: int
    subject: str
    product_code: str
    notify_url: str | None
    created_at: datetime
    buyer_id: str | None = None
    buyer_open_id: str | None = None
    status: str = "WAIT_BUYER_PAY"
    paid_at: datetime | None = None
    refunds: dict[str, tuple[int, datetime]] = field(default_factory=dict)  # out_request_no -> (fen, at)
    events: list[str] = field(default_factory=list)

    @property
    def refunded(self) -> int:
        return sum(fen for fen, _at in self.refunds.values())

    def view(self) -> dict[str, Any]:
        return {"out_trade_no": self.out_trade_no, "trade_no": self.trade_no, "total_amount": yuan(self.total),
                "trade_status": self.status, "buyer_id": self.buyer_id, "buyer_open_id": self.buyer_open_id,
                "product_code": self.product_code, "refunds": {k: yuan(v[0]) for k, v in self.refunds.items()},
                "events": self.events, "notify_url": self.notify_url}


@dataclass
class Fault:
    method: str | None
    http_status: int
    sub_code: str | None
    delay_ms: int
    times: int

    def describe(self) -> dict[str, Any]:
        return {"method": self.method, "http_status": self.http_status, "sub_code": self.sub_code,
                "delay_ms": self.delay_ms, "times": self.times}


class AlipaySimState:
    def __init__(self, *, app_id: str, app_key: rsa.RSAPublicKey, alipay_key: rsa.RSAPrivateKey, seller_id: str,
                 time_scale: float) -> None:
        self.app_id, self.app_key, self.alipay_key, self.seller_id = app_id, app_key, alipay_key, seller_id
        self.oauth = AlipayOAuth(app_id)  # alipay.system.oauth.token and the auth codes of my.getAuthCode
        self.notifier = Notifier(schedule_s=ALIPAY_SCHEDULE_S, time_scale=time_scale,
                                 accepts=lambda status, body: status == 200 and body == b"success")
        self.reset()

    def reset(self) -> None:
        self.notifier.reset()
        self.oauth.reset()
        self.trades: dict[str, Trade] = {}
        self.bill_files: dict[str, tuple[float, str, bytes]] = {}  # token -> (expires, file name, zip)
        self.faults: list[Fault] = []
        self.calls: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()

    def take_fault(self, method: str | None) -> Fault | None:
        for fault in self.faults:
            if fault.method in (None, method):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    # -- the gateway's checks of every call -------------------------------------------------------------------
    def authenticate(self, params: Mapping[str, str]) -> None:
        for name, sub_code in (("app_id", "isv.missing-app-id"), ("method", "isv.missing-method"),
                               ("sign", "isv.missing-signature"), ("timestamp", "isv.missing-timestamp")):
            if not params.get(name):
                raise AlipayError("40001", "Missing Required Arguments", sub_code, f"缺少{name}参数")
        if params["app_id"] != self.app_id:
            raise invalid("isv.invalid-app-id", "无效的AppID参数")
        if params.get("sign_type") != "RSA2":
            raise invalid("isv.invalid-signature-type", "无效的签名类型")
        if params.get("charset", "utf-8").lower() not in ("utf-8", "utf8"):
            raise invalid("isv.invalid-charset", "字符集错误")
        if params.get("version", "1.0") != "1.0" or params.get("format", "json").lower() != "json":
            raise invalid("isv.invalid-parameter", "version 须为 1.0，format 须为 JSON")
        try:
            datetime.strptime(params["timestamp"], STAMP)
        except ValueError:
            raise invalid("isv.invalid-timestamp", "非法的时间戳参数") from None
        content = alipay_sign.sign_content(params)
        if not alipay_sign.verify(self.app_key, content, params["sign"]):
            shown = content.replace("&", "&amp;")
            raise invalid("isv.invalid-signature", "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，"
                                                   f"网关生成的验签字符串为：{shown}")

    # -- trades -----------------------------------------------------------------------------------------------
    def open_trade(self, biz: Mapping[str, Any], notify_url: str | None, product_code: str,
                   *, buyer_required: bool) -> Trade:
        """alipay.trade.create (mini-program) and the wap cashier page: the trade, new or the same again."""
        out_trade_no, subject = str(biz.get("out_trade_no") or ""), str(biz.get("subject") or "")
        if not out_trade_no or len(out_trade_no) > 64 or not subject or len(subject) > 256:
            raise business("ACQ.INVALID_PARAMETER", "参数无效out_trade_no或subject")
        total = amount_fen(biz.get("total_amount"), "total_amount")
        buyer_id, buyer_open_id = biz.get("buyer_id") or None, biz.get("buyer_open_id") or None
        if buyer_required and not (buyer_id or buyer_open_id):
            raise business("ACQ.INVALID_PARAMETER", "buyer_id和buyer_open_id不能同时为空")
        existing = self.trades.get(out_trade_no)
        if existing is not None:
            if existing.status == "TRADE_CLOSED":
                raise business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
            if existing.status in ("TRADE_SUCCESS", "TRADE_FINISHED"):
                raise business("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
            if (existing.total, existing.subject) != (total, subject):
                raise business("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
            return existing
        now = datetime.now(SHANGHAI).replace(microsecond=0)
        trade_no = now.strftime("%Y%m%d") + "22001" + f"{secrets.randbelow(10**15):015d}"
        trade = Trade(out_trade_no, trade_no, total, subject, product_code, notify_url, now, buyer_id, buyer_open_id)
        self.trades[out_trade_no] = trade
        return trade

    def find(self, biz: Mapping[str, Any]) -> Trade:
        trade = self.trades.get(str(biz.get("out_trade_no") or ""))
        if trade is None and biz.get("trade_no"):
            trade = next((t for t in self.trades.values() if t.trade_no == biz["trade_no"]), None)
        if trade is None:
            raise business("ACQ.TRADE_NOT_EXIST", "交易不存在")
        return trade

    def trade(self, out_trade_no: str) -> Trade:
        return self.find({"out_trade_no": out_trade_no})

    def query_view(self, trade: Trade) -> dict[str, Any]:
        paid = trade.status in ("TRADE_SUCCESS", "TRADE_FINISHED") or trade.paid_at is not None
        view = {"code": "10000", "msg": "Success", "trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no,
                "trade_status": trade.status, "total_amount": yuan(trade.total),
                "buyer_pay_amount": yuan(trade.total if paid else 0), "point_amount": "0.00",
                "invoice_amount": yuan(trade.total if paid else 0), "receipt_amount": yuan(trade.total if paid else 0)}
        if trade.buyer_id or trade.buyer_open_id:
            view["buyer_logon_id"] = "138******00"
        view.update({k: v for k, v in (("buyer_user_id", trade.buyer_id), ("buyer_open_id", trade.buyer_open_id))
                     if v})
        if trade.paid_at is not None:
            view["send_pay_date"] = trade.paid_at.strftime(STAMP)
        return view

    def close(self, biz: Mapping[str, Any]) -> dict[str, Any]:
        trade = self.find(biz)
        if trade.status != "WAIT_BUYER_PAY":
            raise business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        trade.status = "TRADE_CLOSED"
        return {"code": "10000", "msg": "Success", "trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no}

    # -- the buyer (control API) ------------------------------------------------------------------------------
    def pay(self, out_trade_no: str, paid_at: datetime | None = None, buyer_id: str | None = None) -> Trade:
        trade = self.trade(out_trade_no)
        if trade.status != "WAIT_BUYER_PAY":
            raise business("SIM.TRADE_STATE", f"交易状态为 {trade.status}，不能支付")
        if not (trade.buyer_id or trade.buyer_open_id):
            trade.buyer_id = buyer_id or "2088" + f"{secrets.randbelow(10**12):012d}"
        trade.status = "TRADE_SUCCESS"
        trade.paid_at = (paid_at or datetime.now(SHANGHAI)).astimezone(SHANGHAI).replace(microsecond=0)
        trade.events.append("pay")
        self.notify(trade)
        return trade

    def finish(self, out_trade_no: str) -> Trade:
        """The refund period ended: TRADE_SUCCESS becomes TRADE_FINISHED (with its own notify)."""
        trade = self.trade(out_trade_no)
        if trade.status != "TRADE_SUCCESS":
            raise business("SIM.TRADE_STATE", f"交易状态为 {trade.status}")
        trade.status = "TRADE_FINISHED"
        trade.events.append("finish")
        self.notify(trade)
        return trade

    def mark(self, out_trade_no: str, event: str) -> Trade:
        """`fail` (the buyer's payment failed: Alipay keeps the trade waiting) and `abandon` change nothing."""
        trade = self.trade(out_trade_no)
        trade.events.append(event)
        return trade

    # -- refunds ----------------------------------------------------------------------------------------------
    def refund(self, biz: Mapping[str, Any]) -> dict[str, Any]:
        trade = self.find(biz)
        fen = amount_fen(biz.get("refund_amount"), "refund_amount")
        request_no = str(biz.get("out_request_no") or trade.out_trade_no)
        previous = trade.refunds.get(request_no)
        if previous is not None:
            if previous[0] != fen:
                raise business("ACQ.DISCORDANT_REPEAT_REQUEST", "请求信息不一致")
            return self._refund_answer(trade, fund_change=False)
        if trade.status == "TRADE_FINISHED":
            raise business("ACQ.TRADE_HAS_FINISHED", "交易已结束")
        if trade.status != "TRADE_SUCCESS":
            raise business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        if fen > trade.total - trade.refunded:
            raise business("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
        now = datetime.now(SHANGHAI).replace(microsecond=0)
        trade.refunds[request_no] = (fen, now)
        if trade.refunded == trade.total:
            trade.status = "TRADE_CLOSED"
        self.notify(trade, {"refund_fee": yuan(trade.refunded), "gmt_refund": now.strftime(STAMP) + ".000",
                            "out_biz_no": request_no})
        return self._refund_answer(trade, fund_change=True) | {"gmt_refund_pay": now.strftime(STAMP)}

    def _refund_answer(self, trade: Trade, *, fund_change: bool) -> dict[str, Any]:
        answer = {"code": "10000", "msg": "Success", "trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no,
                  "buyer_logon_id": "138******00", "fund_change": "Y" if fund_change else "N",
                  "refund_fee": yuan(trade.refunded)}
        return answer | ({"buyer_user_id": trade.buyer_id} if trade.buyer_id else {})

    def refund_query(self, biz: Mapping[str, Any]) -> dict[str, Any]:
        """Alipay answers 10000 with no refund fields when the out_request_no is unknown (no refund made)."""
        trade = self.find(biz)
        request_no = str(biz.get("out_request_no") or "")
        if not request_no:
            raise business("ACQ.INVALID_PARAMETER", "参数无效out_request_no")
        answer: dict[str, Any] = {"code": "10000", "msg": "Success", "trade_no": trade.trade_no,
                                  "out_trade_no": trade.out_trade_no, "out_request_no": request_no}
        if request_no in trade.refunds:
            fen, at = trade.refunds[request_no]
            answer.update(total_amount=yuan(trade.total), refund_amount=yuan(fen), refund_status="REFUND_SUCCESS",
                          gmt_refund_pay=at.strftime(STAMP))
        return answer

    # -- notifies ---------------------------------------------------------------------------------------------
    def notify(self, trade: Trade, extra: Mapping[str, str] | None = None) -> None:
        if not trade.notify_url:
            return
        now = datetime.now(SHANGHAI)
        params = {"notify_time": now.strftime(STAMP), "notify_type": "trade_status_sync",
                  "notify_id": secrets.token_hex(16) + "0" * 8, "charset": "utf-8", "version": "1.0",
                  "sign_type": "RSA2", "app_id": self.app_id, "auth_app_id": self.app_id,
                  "trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no, "seller_id": self.seller_id,
                  "trade_status": trade.status, "total_amount": yuan(trade.total), "subject": trade.subject,
                  "receipt_amount": yuan(trade.total), "invoice_amount": yuan(trade.total),
                  "buyer_pay_amount": yuan(trade.total), "point_amount": "0.00", "buyer_logon_id": "138******00",
                  "gmt_create": trade.created_at.strftime(STAMP),
                  "fund_bill_list": f'[{{"amount":"{yuan(trade.total)}","fundChannel":"ALIPAYACCOUNT"}}]'}
        if trade.paid_at is not None:
            params["gmt_payment"] = trade.paid_at.strftime(STAMP)
        params.update({k: v for k, v in (("buyer_id", trade.buyer_id), ("buyer_open_id", trade.buyer_open_id)) if v})
        params.update(extra or {})
        params["sign"] = alipay_sign.sign(self.alipay_key,
                                          alipay_sign.sign_content(params, exclude=("sign", "sign_type")))
        body = urlencode(params).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        self.notifier.submit(f"trade_status_sync:{trade.status}", trade.notify_url,
                             {"notify_id": params["notify_id"], "out_trade_no": trade.out_trade_no},
                             lambda: (body, headers))

    # -- bills ------------------------------------------------------------------------------------------------
    def bill_url(self, biz: Mapping[str, Any], base_url: str) -> dict[str, Any]:
        if biz.get("bill_type") not in ("trade", "signcustomer"):
            raise business("isv.invalid-bill-type", "账单类型不合法")
        try:
            day = date.fromisoformat(str(biz.get("bill_date") or ""))
        except ValueError:
            raise invalid("isv.invalid-bill-date", "账单日期格式不正确") from None
        now = datetime.now(SHANGHAI)
        if day > now.date():
            raise business("isp.bill_not_exist", "账单不存在")
        name, data = render_zip(self.seller_id, day, self.bill_entries(day), now)
        token = secrets.token_urlsafe(24)
        self.bill_files[token] = (time.time() + BILL_URL_TTL_S, name, data)
        return {"code": "10000", "msg": "Success",
                "bill_download_url": f"{base_url}/bill/download?{urlencode({'token': token, 'fileType': 'csv.zip'})}"}

    def bill_entries(self, day: date) -> list[BillEntry]:
        entries = []
        for t in self.trades.values():
            buyer = "138******00"
            if t.paid_at is not None and t.paid_at.date() == day:
                entries.append(BillEntry(t.trade_no, t.out_trade_no, "交易", t.subject, t.created_at, t.paid_at,
                                         buyer, t.total))
            for request_no, (fen, at) in t.refunds.items():
                if at.date() == day:
                    entries.append(BillEntry(t.trade_no, t.out_trade_no, "退款", t.subject, t.created_at, at, buyer,
                                             -fen, request_no))
        return entries

    def bill_file(self, token: str | None) -> tuple[str, bytes] | None:
        found = self.bill_files.get(token or "")
        if found is None or found[0] < time.time():
            return None
        return found[1], found[2]

    def stats(self) -> dict[str, Any]:
        return {"calls": dict(self.calls), "rejected": dict(self.rejected), "trades": len(self.trades),
                "trades_by_status": dict(Counter(t.status for t in self.trades.values())),
                "faults_pending": [f.describe() for f in self.faults], **self.oauth.stats(), **self.notifier.stats()}
