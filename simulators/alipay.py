"""Alipay open-platform gateway simulator: `…/gateway.do` for the methods our adapter calls, bill files, notifies.

`https://openapi.alipay.com` maps to `http://<sim>/alipay`. Calls are form posts (common parameters in the
query, `biz_content` in the body, as the official SDK sends them) checked like Alipay checks them: app id,
sign type, timestamp format and the RSA2 signature with the app's public key. Answers are HTTP 200 JSON signed
with Alipay's private key, errors included. `alipay.trade.wap.pay` is a page: the phone's browser opens the
signed URL and gets the (simulated) cashier. The control API under `/_sim/alipay/` pays, fails, abandons or
finishes trades (paying sends the signed async notify), mints the auth codes of `my.getAuthCode` for
`alipay.system.oauth.token` (simulators/alipay_oauth.py), injects faults and lists notifies.
"""

from __future__ import annotations

import asyncio
import html
import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from tornado.web import RequestHandler

from config.settings import Settings
from payments.keys import load_private_key
from simulators import alipay_oauth, alipay_sign
from simulators.alipay_errors import AlipayError, business, invalid
from simulators.alipay_state import AlipaySimState, Fault
from simulators.control import ControlErrors, ResetHandler, StatsHandler

if TYPE_CHECKING:
    from simulators.app import Provider

PREFIX = "/alipay"
METHODS = ("alipay.trade.create", "alipay.trade.wap.pay", "alipay.trade.query", "alipay.trade.close",
           "alipay.trade.refund", "alipay.trade.fastpay.refund.query", "alipay.data.dataservice.bill.downloadurl.query",
           alipay_oauth.METHOD)
ERROR_RESPONSE = frozenset({alipay_oauth.METHOD})  # Alipay answers these methods' errors as `error_response`
_HTML = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{title}</title></head><body>{body}</body></html>"


class _Handler(RequestHandler):
    def initialize(self, sim: AlipaySimState) -> None:
        self.sim = sim

    def send_json(self, body: Any, *, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(body, ensure_ascii=False))

    def send_html(self, title: str, body: str, *, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(_HTML.format(title=html.escape(title), body=body))


class GatewayHandler(_Handler):
    def initialize(self, sim: AlipaySimState) -> None:
        super().initialize(sim)
        self.closed = asyncio.Event()

    def on_connection_close(self) -> None:
        self.closed.set()

    def _request_summary(self) -> str:  # access log: no query (it carries the signature and buyer ids)
        return f"{self.request.method} {self.request.path} ({self.request.remote_ip})"

    async def get(self) -> None:
        await self.serve()

    async def post(self) -> None:
        await self.serve()

    async def serve(self) -> None:
        params = dict(parse_qsl(self.request.query, keep_blank_values=True))
        if self.request.body and "form" in self.request.headers.get("Content-Type", "form"):
            params.update(parse_qsl(self.request.body.decode("utf-8", "replace"), keep_blank_values=True))
        method = params.get("method") or None
        self.sim.calls[method or "(none)"] += 1
        fault = self.sim.take_fault(method)
        if fault is not None and fault.delay_ms:
            try:
                await asyncio.wait_for(self.closed.wait(), fault.delay_ms / 1000)
                return
            except TimeoutError:
                pass
        if fault is not None and fault.http_status:
            self.send_html("502 Bad Gateway", "<h1>Bad Gateway</h1>", status=fault.http_status)
            return
        page = method == "alipay.trade.wap.pay"
        try:
            if fault is not None and fault.sub_code:
                raise AlipayError("20000", "Service Currently Unavailable", fault.sub_code, "系统繁忙")
            self.sim.authenticate(params)
            answer = self.dispatch_method(method, params)
        except AlipayError as exc:
            self.sim.rejected[exc.sub_code] += 1
            if page:
                self.send_html("支付宝 - 错误", f"<h1>系统有点忙</h1><p>错误代码：{html.escape(exc.sub_code)}</p>"
                               f"<p>{html.escape(exc.sub_msg)}</p>")
                return
            known = method if method in METHODS and method not in ERROR_RESPONSE else None
            self.send_signed(known, exc.body())
            return
        if answer is not None:
            self.send_signed(method, answer)

    def dispatch_method(self, method: str | None, params: dict[str, str]) -> dict[str, Any] | None:
        if method == alipay_oauth.METHOD:  # top-level grant_type / code, no biz_content
            return self.sim.oauth.token(params)
        try:
            biz = json.loads(params.get("biz_content") or "{}")
        except ValueError:
            raise invalid("isv.invalid-parameter", "biz_content 不是合法的JSON") from None
        if not isinstance(biz, dict):
            raise invalid("isv.invalid-parameter", "biz_content 须为JSON对象")
        notify_url = params.get("notify_url") or None
        if method == "alipay.trade.create":
            trade = self.sim.open_trade(biz, notify_url, str(biz.get("product_code") or "JSAPI_PAY"),
                                        buyer_required=True)
            return {"code": "10000", "msg": "Success", "out_trade_no": trade.out_trade_no, "trade_no": trade.trade_no}
        if method == "alipay.trade.wap.pay":
            trade = self.sim.open_trade(biz, notify_url, "QUICK_WAP_WAY", buyer_required=False)
            self.send_html("支付宝收银台", f"<h1>{html.escape(trade.subject)}</h1><p>￥{trade.total / 100:.2f}</p>"
                           f"<p>商户订单号 {html.escape(trade.out_trade_no)}</p><p>交易号 {trade.trade_no}</p>")
            return None
        handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "alipay.trade.query": lambda b: self.sim.query_view(self.sim.find(b)),
            "alipay.trade.close": self.sim.close,
            "alipay.trade.refund": self.sim.refund,
            "alipay.trade.fastpay.refund.query": self.sim.refund_query,
            "alipay.data.dataservice.bill.downloadurl.query":
                lambda b: self.sim.bill_url(b, f"{self.request.protocol}://{self.request.host}{PREFIX}"),
        }
        handler = handlers.get(method or "")
        if handler is None:
            raise invalid("isv.invalid-method", "不存在的方法名")
        return handler(biz)

    def send_signed(self, method: str | None, body: dict[str, Any]) -> None:
        self.set_header("Content-Type", "application/json;charset=utf-8")
        self.finish(alipay_sign.signed_answer(self.sim.alipay_key, method, body))


class BillDownloadHandler(_Handler):
    def get(self) -> None:
        found = self.sim.bill_file(self.get_query_argument("token", None))
        if found is None:
            self.send_html("账单下载", "<p>下载链接已失效，请重新获取</p>", status=404)
            return
        name, data = found
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("Content-Disposition", f'attachment; filename="{name}"')
        self.finish(data)


# -- control API -----------------------------------------------------------------------------------------------
class _ControlHandler(ControlErrors, _Handler):
    refusals = (AlipayError,)

    def refusal(self, exc: Exception) -> tuple[int, dict[str, Any]]:
        assert isinstance(exc, AlipayError)
        return (404 if exc.sub_code == "ACQ.TRADE_NOT_EXIST" else 409), {"code": exc.sub_code, "message": exc.sub_msg}


class TradesHandler(_ControlHandler):
    def get(self, out_trade_no: str | None = None) -> None:
        if out_trade_no:
            self.send_json(self.sim.trade(out_trade_no).view())
        else:
            self.send_json({"trades": [t.view() for t in self.sim.trades.values()]})


class TradeActionHandler(_ControlHandler):
    """`pay` (optional `gmt_payment` ISO time, `buyer_id`), `finish`, `fail`, `abandon`."""

    def post(self, out_trade_no: str, action: str) -> None:
        body = self.json_body()
        if action == "pay":
            when = body.get("gmt_payment")
            trade = self.sim.pay(out_trade_no, datetime.fromisoformat(when) if when else None, body.get("buyer_id"))
        elif action == "finish":
            trade = self.sim.finish(out_trade_no)
        else:
            trade = self.sim.mark(out_trade_no, action)
        self.send_json(trade.view())


class NotificationsHandler(_ControlHandler):
    def get(self) -> None:
        found = self.sim.notifier.find(out_trade_no=self.get_query_argument("out_trade_no", None))
        self.send_json({"notifications": [d.view() for d in found]})


class ResendHandler(_ControlHandler):
    async def post(self, delivery_id: str) -> None:
        if delivery_id not in self.sim.notifier.deliveries:
            raise business("ACQ.TRADE_NOT_EXIST", "no such notification")
        times = int(self.json_body().get("times", 1))
        if not 1 <= times <= 100:
            raise ValueError("times must be 1-100")
        attempts = await self.sim.notifier.resend(delivery_id, times)
        self.send_json({"attempts": [a.view() for a in attempts]})


class FaultsHandler(_ControlHandler):
    """`{"http_status": 502}`, `{"sub_code": "isp.unknow-error"}` (code 20000) and/or `{"delay_ms": n}`."""

    def post(self) -> None:
        body = self.json_body()
        method, status, sub_code = body.get("method"), int(body.get("http_status") or 0), body.get("sub_code")
        delay_ms, times = int(body.get("delay_ms") or 0), int(body.get("times", 1))
        if method is not None and method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}")
        if not (status or sub_code or delay_ms) or (status and not 400 <= status <= 599) or times < 1:
            raise ValueError("give http_status 400-599, sub_code and/or delay_ms > 0; times >= 1")
        self.sim.faults.append(Fault(method, status, sub_code, delay_ms, times))
        self.get()

    def get(self) -> None:
        self.send_json({"faults_pending": [f.describe() for f in self.sim.faults]})


class AuthCodesHandler(_ControlHandler):
    """The person taps "allow" for `my.getAuthCode`: a code for a new Alipay user, or for `user_id` (2088…)."""

    def post(self) -> None:
        body = self.json_body()
        code, user = self.sim.oauth.mint(body.get("user_id"), app_id=body.get("app_id"))
        self.send_json({"auth_code": code, **user.view(), "expires_in_s": self.sim.oauth.code_ttl_s})


class ConfigHandler(_ControlHandler):
    def post(self) -> None:
        body = self.json_body()
        if "time_scale" in body:
            self.sim.notifier.time_scale = max(0.0, float(body["time_scale"]))
        ttl = body.get("auth_code_ttl_s")
        oauth = self.sim.oauth.configure(code_ttl_s=None if ttl is None else float(ttl),
                                         id_type=body.get("oauth_id_type"))
        self.send_json({"time_scale": self.sim.notifier.time_scale, **oauth})


def alipay_provider(settings: Settings) -> Provider:
    from simulators.app import Provider

    app = load_private_key(settings.alipay_app_private_key.get_secret_value(),
                           setting="ZSB_ALIPAY_APP_PRIVATE_KEY (run ./dev run once to generate)")
    alipay = load_private_key(settings.sim_alipay_private_key,
                              setting="ZSB_SIM_ALIPAY_PRIVATE_KEY (run ./dev run once to generate)")
    sim = AlipaySimState(app_id=settings.alipay_app_id, app_key=app.public_key(), alipay_key=alipay,
                         seller_id=settings.alipay_seller_id, time_scale=settings.sim_notify_time_scale)
    kwargs = {"sim": sim}
    control = "/_sim/alipay/"
    routes: list[Any] = [
        (PREFIX + "/gateway.do", GatewayHandler, kwargs),
        (PREFIX + "/bill/download", BillDownloadHandler, kwargs),
        (control + "trades", TradesHandler, kwargs),
        (control + r"trades/([^/]+)", TradesHandler, kwargs),
        (control + r"trades/([^/]+)/(pay|finish|fail|abandon)", TradeActionHandler, kwargs),
        (control + "auth_codes", AuthCodesHandler, kwargs),
        (control + "notifications", NotificationsHandler, kwargs),
        (control + r"notifications/([^/]+)/resend", ResendHandler, kwargs),
        (control + "faults", FaultsHandler, kwargs),
        (control + "config", ConfigHandler, kwargs),
        (control + "stats", StatsHandler, kwargs),
        (control + "reset", ResetHandler, kwargs),
    ]
    return Provider(name="alipay", description="Alipay open-platform gateway (RSA2): mini-program and WAP trades, "
                    "query, close, refunds, trade bills, async notifies, mini-program auth codes (oauth.token) (under /alipay)", routes=routes)
