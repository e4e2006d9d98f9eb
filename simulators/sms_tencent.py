"""Tencent Cloud SMS simulator: `SendSms` (API 3.0, version 2021-01-11) exactly as the official SDK sends it,
status callbacks in Tencent's format, and a control API.

Wire format (checked against tencentcloud-sdk-python 3.x): `POST /` with a JSON body (`PhoneNumberSet`,
`SmsSdkAppId`, `SignName`, `TemplateId`, `TemplateParamSet`, `SessionContext`), the action, version, region and
timestamp in `X-TC-*` headers, signed with TC3-HMAC-SHA256 in `Authorization`. Every answer is HTTP 200 with
`Content-Type: application/json` (the SDK reads errors only under that exact type): `{"Response": {…}}`, an
`Error` inside it for a refused request. The SDK takes `host:port` only, so like Aliyun's simulator this one
serves the root, claimed only by requests carrying `X-TC-Action`.

Control API under `/_sim/sms-tencent/`: `messages`, `faults`, `templates`, `stats`, `reset`, and the delivery
report endpoints (`config`, `reports`, `reports/failures`). Documented in docs/simulators.md.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

from tornado.web import RequestHandler

from config.settings import Settings
from core.pii import normalise_phone
from simulators.control import ControlErrors, ResetHandler, StatsHandler
from simulators.sms_aliyun import ActionHeaderMatches
from simulators.sms_reports import ReportSender, report_routes
from simulators.sms_tencent_state import (
    API_VERSION,
    REGIONS,
    TencentError,
    TencentSmsState,
    new_request_id,
    parse_fault,
    report_acknowledged,
    templates_from_setting,
)

if TYPE_CHECKING:
    from simulators.app import Provider

_HTML_DOWN = "<html><body><h1>502 Bad Gateway</h1></body></html>"


class _Handler(RequestHandler):
    def initialize(self, sim: TencentSmsState) -> None:
        self.sim = sim

    def send_json(self, body: Any, *, status: int = 200, content_type: str = "application/json") -> None:
        self.set_status(status)
        self.set_header("Content-Type", content_type)
        self.finish(json.dumps(body, ensure_ascii=False))


class ApiHandler(_Handler):
    """Faults first (slow, down), then the signature, the common headers, and SendSms's own rules."""

    def initialize(self, sim: TencentSmsState) -> None:
        super().initialize(sim)
        self.closed = asyncio.Event()

    def on_connection_close(self) -> None:
        self.closed.set()

    async def post(self) -> None:
        self.sim.requests += 1
        request_id = new_request_id()
        fault = self.sim.take_fault()
        if fault is not None and fault.delay_ms:
            try:  # stop as soon as the client gives up (its read timeout)
                await asyncio.wait_for(self.closed.wait(), fault.delay_ms / 1000)
                return
            except TimeoutError:
                pass
        if fault is not None and fault.http_status:
            self.sim.rejected[f"HTTP {fault.http_status}"] += 1
            self.set_status(fault.http_status)
            self.set_header("Content-Type", "text/html")
            self.finish(_HTML_DOWN)
            return
        headers = self.request.headers
        try:
            self.sim.authenticate(self.request.method or "POST", self.request.path, self.request.query,
                                  headers.get, self.request.body, time.time())
            if headers.get("X-TC-Action") != "SendSms":
                raise TencentError("InvalidAction", "接口不存在。")
            if headers.get("X-TC-Version") != API_VERSION:
                raise TencentError("NoSuchVersion", "接口版本不存在。")
            if headers.get("X-TC-Region") not in REGIONS:
                raise TencentError("UnsupportedOperation.UnsupportedRegion", "不支持该地域。")
            try:
                params = json.loads(self.request.body or b"{}")
            except ValueError:
                raise TencentError("InvalidParameter", "请求体不是合法的 JSON。") from None
            if not isinstance(params, dict):
                raise TencentError("InvalidParameter", "请求体须是 JSON 对象。")
            answer = self.sim.send_sms(params, request_id, fault)
        except TencentError as exc:
            self.sim.rejected[exc.code] += 1
            self.send_json(exc.body(request_id))
            return
        self.send_json({"Response": answer})

    def _request_summary(self) -> str:  # access/error log: path only
        return f"{self.request.method} {self.request.path} ({self.request.remote_ip})"


# -- control API -----------------------------------------------------------------------------------------------
class _ControlHandler(ControlErrors, _Handler):
    """Control requests: bad ones are the caller's 400 (simulators/control.py)."""


class MessagesHandler(_ControlHandler):
    def get(self) -> None:
        raw = self.get_query_argument("phone", None)
        self.send_json({"messages": self.sim.messages(normalise_phone(raw.strip()) if raw else None)})


class FaultsHandler(_ControlHandler):
    def post(self) -> None:
        self.sim.faults.append(parse_fault(self.json_body()))
        self.send_json({"faults_pending": [f.describe() for f in self.sim.faults]})

    def get(self) -> None:
        self.send_json({"faults_pending": [f.describe() for f in self.sim.faults]})


class TemplatesHandler(_ControlHandler):
    def get(self) -> None:
        self.send_json({"templates": self.sim.templates})

    def post(self) -> None:
        body = self.json_body()
        self.sim.add_template(str(body.get("template_id") or ""), str(body.get("text") or ""))
        self.send_json({"templates": self.sim.templates}, status=201)


def tencent_sms_provider(settings: Settings) -> Provider:
    from notifications.templates import default_book  # the notification templates approved at the provider
    from simulators.app import Provider

    reports = ReportSender(url=settings.sim_sms_tencent_report_url, delay_ms=settings.sim_sms_report_delay_ms,
                           acknowledged=report_acknowledged)
    sim = TencentSmsState(
        secret_id=settings.sms_tencent_secret_id, secret_key=settings.sms_tencent_secret_key.get_secret_value(),
        sdk_app_id=settings.sms_tencent_sdk_app_id, sign_names={settings.sms_tencent_sign_name},
        templates={**default_book().sms_texts("tencent"), **templates_from_setting(settings.sms_tencent_templates)},
        reports=reports,
    )
    kwargs = {"sim": sim}
    routes: list[Any] = [(ActionHeaderMatches("X-TC-Action"), ApiHandler, kwargs)]
    control = {"messages": MessagesHandler, "faults": FaultsHandler, "templates": TemplatesHandler,
               "stats": StatsHandler, "reset": ResetHandler}
    routes += [(f"/_sim/sms-tencent/{name}", handler, kwargs) for name, handler in control.items()]
    routes += report_routes("sms-tencent", reports, ("MK:0001", "用户短信接收失败"))
    return Provider(name="sms-tencent", description="Tencent Cloud SMS SendSms, TC3-signed (POST / with X-TC-Action)",
                    routes=routes)
