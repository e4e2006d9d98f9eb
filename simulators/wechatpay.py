"""WeChat Pay API v3 simulator (public-key mode): the merchant APIs our adapter calls, in WeChat Pay's wire format.

Real paths live under `/wechatpay` (so `https://api.mch.weixin.qq.com` maps to `http://<sim>/wechatpay`); the
signed URL is the path after that prefix, as the SDK signs it. Every request must carry a valid merchant
`Authorization` (401 SIGN_ERROR otherwise); every answer except a bill file is signed with the platform key
(`Wechatpay-Serial` = the public key id). The control API under `/_sim/wechatpay/` pays, fails or abandons
orders (paying sends the encrypted, signed callback), settles refunds, injects faults and lists callbacks.
Documented with curl examples in docs/simulators.md.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from tornado.web import RequestHandler

from config.settings import Settings
from payments.keys import load_private_key
from simulators import wechatpay_crypto as crypto
from simulators.control import ControlErrors, ResetHandler, StatsHandler
from simulators.wechatpay_model import Fault, WxPayError, refund_view, transaction_view
from simulators.wechatpay_state import WeChatPaySimState

if TYPE_CHECKING:
    from simulators.app import Provider

PREFIX = "/wechatpay"
FAULT_CODES = {429: "FREQUENCY_LIMITED", 500: "SYSTEM_ERROR", 502: "SYSTEM_ERROR", 503: "SYSTEM_ERROR"}
APIS = ("jsapi", "query", "close", "refund", "refund_query", "tradebill", "billdownload")


class _Handler(RequestHandler):
    def initialize(self, sim: WeChatPaySimState) -> None:
        self.sim = sim

    def send_json(self, body: Any, *, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(body, ensure_ascii=False))


class ApiHandler(_Handler):
    """Fault, then signature, then the API's own rules; the answer is signed whatever its status."""

    api: ClassVar[str]

    def initialize(self, sim: WeChatPaySimState) -> None:
        super().initialize(sim)
        self.closed = asyncio.Event()

    def on_connection_close(self) -> None:
        self.closed.set()

    async def serve(self, *args: str) -> None:
        self.sim.calls[self.api] += 1
        self.set_header("Request-ID", crypto.new_nonce(40))
        fault = self.sim.take_fault(self.api)
        if fault is not None and fault.delay_ms:
            try:  # stop as soon as the client gives up (its timeout)
                await asyncio.wait_for(self.closed.wait(), fault.delay_ms / 1000)
                return
            except TimeoutError:
                pass
        try:
            if fault is not None and fault.http_status:
                raise WxPayError(fault.http_status, FAULT_CODES.get(fault.http_status, "SYSTEM_ERROR"), "系统错误")
            url = (self.request.uri or "").removeprefix(PREFIX)
            self.sim.authenticate(self.request.method or "GET", url, self.request.headers.get, self.request.body)
            status, body = self.answer(*args)
        except WxPayError as exc:
            self.sim.rejected[exc.code] += 1
            status, body = exc.status, exc.body()
        self.send_signed(status, body)

    def answer(self, *args: str) -> tuple[int, dict[str, Any] | None]:
        raise NotImplementedError

    def json_body(self) -> dict[str, Any]:
        try:
            data = json.loads(self.request.body or b"")
        except ValueError:
            raise WxPayError(400, "PARAM_ERROR", "请求体不是合法的JSON") from None
        if not isinstance(data, dict):
            raise WxPayError(400, "PARAM_ERROR", "请求体须为JSON对象")
        return data

    def query(self, name: str) -> str | None:
        return self.get_query_argument(name, None)

    def check_mchid_query(self) -> None:
        if self.query("mchid") != self.sim.mchid:
            raise WxPayError(400, "PARAM_ERROR", "mchid 与签名中的商户号不一致")

    def send_signed(self, status: int, body: dict[str, Any] | None) -> None:
        data = b"" if body is None else json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        headers = crypto.signed_headers(self.sim.platform_key, self.sim.platform_key_id, data, int(time.time()))
        for name, value in headers.items():
            self.set_header(name, value)
        self.set_status(status)
        if body is None:
            self.finish()  # 204: no body (the signature covers the empty one)
            return
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(data)


class JsapiHandler(ApiHandler):
    api = "jsapi"

    async def post(self) -> None:
        await self.serve()

    def answer(self) -> tuple[int, dict[str, Any]]:
        return 200, self.sim.prepay(self.json_body())


class QueryHandler(ApiHandler):
    api = "query"

    async def get(self, kind: str, number: str) -> None:
        await self.serve(kind, number)

    def answer(self, kind: str, number: str) -> tuple[int, dict[str, Any]]:
        self.check_mchid_query()
        if kind == "id":
            order = next((o for o in self.sim.orders.values() if o.transaction_id == number), None)
            if order is None:
                raise WxPayError(404, "ORDER_NOT_EXIST", "订单不存在")
        else:
            order = self.sim.order(number)
        return 200, transaction_view(order, self.sim.mchid)


class CloseHandler(ApiHandler):
    api = "close"

    async def post(self, out_trade_no: str) -> None:
        await self.serve(out_trade_no)

    def answer(self, out_trade_no: str) -> tuple[int, None]:
        self.sim.close(out_trade_no, self.json_body())
        return 204, None


class RefundHandler(ApiHandler):
    api = "refund"

    async def post(self) -> None:
        await self.serve()

    def answer(self) -> tuple[int, dict[str, Any]]:
        return 200, self.sim.refund(self.json_body())


class RefundQueryHandler(ApiHandler):
    api = "refund_query"

    async def get(self, out_refund_no: str) -> None:
        await self.serve(out_refund_no)

    def answer(self, out_refund_no: str) -> tuple[int, dict[str, Any]]:
        return 200, refund_view(self.sim.refund_by_no(out_refund_no))


class TradeBillHandler(ApiHandler):
    api = "tradebill"

    async def get(self) -> None:
        await self.serve()

    def answer(self) -> tuple[int, dict[str, Any]]:
        base = f"{self.request.protocol}://{self.request.host}{PREFIX}"
        return 200, self.sim.trade_bill(self.query, base)


class BillDownloadHandler(ApiHandler):
    """The file itself is not signed (WeChat Pay does not sign it): the hash from `tradebill` vouches for it."""

    api = "billdownload"

    async def get(self) -> None:
        await self.serve()

    def answer(self) -> tuple[int, dict[str, Any] | None]:
        self.file = self.sim.bill_file(self.query("token"))
        return 200, None

    def send_signed(self, status: int, body: dict[str, Any] | None) -> None:
        if status == 200 and getattr(self, "file", None) is not None:
            self.set_header("Content-Type", "application/octet-stream")
            self.finish(self.file)
        else:
            super().send_signed(status, body)


# -- control API -----------------------------------------------------------------------------------------------
class _ControlHandler(ControlErrors, _Handler):
    refusals = (WxPayError,)

    def refusal(self, exc: Exception) -> tuple[int, dict[str, Any]]:
        assert isinstance(exc, WxPayError)
        return exc.status, exc.body()


class OrdersHandler(_ControlHandler):
    def get(self, out_trade_no: str | None = None) -> None:
        if out_trade_no:
            order = self.sim.order(out_trade_no)
            refunds = [refund_view(r) for r in self.sim.refunds.values() if r.order is order]
            self.send_json(order.view() | {"refunds": refunds})
        else:
            self.send_json({"orders": [o.view() for o in self.sim.orders.values()]})


class OrderActionHandler(_ControlHandler):
    """`pay` (sends TRANSACTION.SUCCESS; optional `success_time` to book it on another day), `fail`, `abandon`."""

    def post(self, out_trade_no: str, action: str) -> None:
        if action == "pay":
            when = self.json_body().get("success_time")
            order = self.sim.pay(out_trade_no, datetime.fromisoformat(when) if when else None)
        elif action == "fail":
            order = self.sim.fail(out_trade_no)
        else:
            order = self.sim.abandon(out_trade_no)
        self.send_json(order.view())


class SettleRefundHandler(_ControlHandler):
    def post(self, out_refund_no: str) -> None:
        refund = self.sim.settle_refund(out_refund_no, str(self.json_body().get("status", "SUCCESS")))
        self.send_json(refund_view(refund))


class CallbacksHandler(_ControlHandler):
    def get(self) -> None:
        found = self.sim.notifier.find(out_trade_no=self.get_query_argument("out_trade_no", None),
                                       out_refund_no=self.get_query_argument("out_refund_no", None))
        self.send_json({"callbacks": [d.view() for d in found]})


class ResendHandler(_ControlHandler):
    async def post(self, delivery_id: str) -> None:
        if delivery_id not in self.sim.notifier.deliveries:
            raise WxPayError(404, "NOT_FOUND", "no such callback")
        times = int(self.json_body().get("times", 1))
        if not 1 <= times <= 100:
            raise ValueError("times must be 1-100")
        attempts = await self.sim.notifier.resend(delivery_id, times)
        self.send_json({"attempts": [a.view() for a in attempts]})


class FaultsHandler(_ControlHandler):
    """`{"http_status": 500}` and/or `{"delay_ms": n}` for the next `times` calls (of `api`, or of any API)."""

    def post(self) -> None:
        body = self.json_body()
        api, status = body.get("api"), int(body.get("http_status") or 0)
        delay_ms, times = int(body.get("delay_ms") or 0), int(body.get("times", 1))
        if api is not None and api not in APIS:
            raise ValueError(f"api must be one of {APIS}")
        if not (status or delay_ms) or (status and not 400 <= status <= 599) or times < 1 or delay_ms < 0:
            raise ValueError("give http_status 400-599 and/or delay_ms > 0; times >= 1")
        self.sim.faults.append(Fault(api, status, delay_ms, times))
        self.get()

    def get(self) -> None:
        self.send_json({"faults_pending": [f.describe() for f in self.sim.faults]})


class ConfigHandler(_ControlHandler):
    def post(self) -> None:
        body = self.json_body()
        if "time_scale" in body:
            self.sim.notifier.time_scale = max(0.0, float(body["time_scale"]))
        if "auto_settle_refunds" in body:
            self.sim.auto_settle_refunds = bool(body["auto_settle_refunds"])
        if "refund_settle_after_s" in body:
            self.sim.refund_settle_after_s = max(0.0, float(body["refund_settle_after_s"]))
        self.send_json({"time_scale": self.sim.notifier.time_scale, "auto_settle_refunds":
                        self.sim.auto_settle_refunds, "refund_settle_after_s": self.sim.refund_settle_after_s})


def wechatpay_provider(settings: Settings) -> Provider:
    from simulators.app import Provider

    merchant = load_private_key(settings.wechatpay_merchant_private_key.get_secret_value(),
                                setting="ZSB_WECHATPAY_MERCHANT_PRIVATE_KEY (run ./dev run once to generate)")
    platform = load_private_key(settings.sim_wechatpay_platform_private_key,
                                setting="ZSB_SIM_WECHATPAY_PLATFORM_PRIVATE_KEY (run ./dev run once to generate)")
    sim = WeChatPaySimState(
        mchid=settings.wechatpay_mchid, appids={settings.wechatpay_appid, settings.wechat_oa_appid},
        merchant_serial=settings.wechatpay_merchant_serial, merchant_key=merchant.public_key(),
        platform_key=platform, platform_key_id=settings.wechatpay_platform_public_key_id,
        apiv3_key=settings.wechatpay_apiv3_key.get_secret_value().encode(), time_scale=settings.sim_notify_time_scale)
    kwargs = {"sim": sim}
    api = PREFIX + "/v3"
    routes: list[Any] = [
        (api + "/pay/transactions/jsapi", JsapiHandler, kwargs),
        (api + r"/pay/transactions/(out-trade-no|id)/([^/?]+)", QueryHandler, kwargs),
        (api + r"/pay/transactions/out-trade-no/([^/?]+)/close", CloseHandler, kwargs),
        (api + "/refund/domestic/refunds", RefundHandler, kwargs),
        (api + r"/refund/domestic/refunds/([^/?]+)", RefundQueryHandler, kwargs),
        (api + "/bill/tradebill", TradeBillHandler, kwargs),
        (api + "/billdownload/file", BillDownloadHandler, kwargs),
    ]
    control = "/_sim/wechatpay/"
    routes += [
        (control + "orders", OrdersHandler, kwargs),
        (control + r"orders/([^/]+)", OrdersHandler, kwargs),
        (control + r"orders/([^/]+)/(pay|fail|abandon)", OrderActionHandler, kwargs),
        (control + r"refunds/([^/]+)/settle", SettleRefundHandler, kwargs),
        (control + "callbacks", CallbacksHandler, kwargs),
        (control + r"callbacks/([^/]+)/resend", ResendHandler, kwargs),
        (control + "faults", FaultsHandler, kwargs),
        (control + "config", ConfigHandler, kwargs),
        (control + "stats", StatsHandler, kwargs),
        (control + "reset", ResetHandler, kwargs),
    ]
    return Provider(name="wechatpay", description="WeChat Pay API v3, public-key mode: JSAPI orders, refunds, "
                    "trade bills, signed and encrypted callbacks (under /wechatpay)", routes=routes)
