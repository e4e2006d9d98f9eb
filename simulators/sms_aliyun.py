"""Aliyun SMS simulator: `SendSms` (dysmsapi 2017-05-25) exactly as the official SDK sends it, and a control API.

Wire format (checked against alibabacloud-dysmsapi20170525 4.x): `POST /?PhoneNumbers=…&SignName=…&
TemplateCode=…&TemplateParam=…&OutId=…` with an empty body; the action and version travel in `x-acs-action` /
`x-acs-version`, and the request is signed with ACS3-HMAC-SHA256 in the `Authorization` header. The SDK accepts
an endpoint of `host:port` only (no path prefix), so the simulator serves the root path, matched only when the
request carries `x-acs-action`: Tencent Cloud's API 3.0 also posts to `/`, and will match on `X-TC-Action`.

Control API under `/_sim/sms/`: `messages` (a phone's inbox, latest first), `faults`, `templates`, `stats`,
`reset`, and the delivery reports (SmsReport, simulators/sms_reports.py): `config`, `reports`, `reports/failures`.
Documented with curl examples in docs/simulators.md.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from tornado.httputil import HTTPServerRequest
from tornado.routing import Matcher, PathMatches
from tornado.web import RequestHandler

from config.settings import Settings
from core.pii import normalise_phone
from simulators.control import ControlErrors, ResetHandler, StatsHandler
from simulators.sms_aliyun_state import (
    API_VERSION,
    AliyunError,
    AliyunSmsState,
    new_request_id,
    parse_fault,
)
from simulators.sms_reports import ReportSender, report_routes

if TYPE_CHECKING:
    from simulators.app import Provider

LOGIN_TEMPLATE_TEXT = "您的验证码为${code}，5分钟内有效，请勿泄露于他人。如非本人操作，请忽略本短信。"


class ActionHeaderMatches(Matcher):
    """`/` of an RPC-style cloud API, claimed by the header that names the action (`x-acs-action` for Aliyun)."""

    def __init__(self, header: str) -> None:
        self.header = header
        self.path = PathMatches(r"/")

    def match(self, request: HTTPServerRequest) -> dict[str, Any] | None:
        return self.path.match(request) if self.header in request.headers else None

    def reverse(self, *args: object) -> str | None:
        return "/"


class _Handler(RequestHandler):
    def initialize(self, sim: AliyunSmsState) -> None:
        self.sim = sim

    def send_json(self, body: Any, *, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json;charset=utf-8")
        self.finish(json.dumps(body, ensure_ascii=False))

    def _request_summary(self) -> str:  # access/error log: path only, the query holds numbers and codes
        return f"{self.request.method} {self.request.path} ({self.request.remote_ip})"


class RpcHandler(_Handler):
    """Faults first (a slow or down gateway), then the signature, then SendSms's own rules."""

    def initialize(self, sim: AliyunSmsState) -> None:
        super().initialize(sim)
        self.closed = asyncio.Event()

    def on_connection_close(self) -> None:
        self.closed.set()

    async def post(self) -> None:
        self.sim.requests += 1
        request_id = new_request_id()
        self.set_header("x-acs-request-id", request_id)
        fault = self.sim.take_fault()
        if fault is not None and fault.delay_ms:
            try:  # stop as soon as the client gives up (its read timeout)
                await asyncio.wait_for(self.closed.wait(), fault.delay_ms / 1000)
                return
            except TimeoutError:
                pass
        try:
            if fault is not None and fault.http_status:
                raise self.sim.gateway_fault(fault)
            query = parse_qsl(self.request.query, keep_blank_values=True, encoding="utf-8")
            self.sim.authenticate(self.request.method or "POST", self.request.path, query,
                                  self.request.headers.get_list, self.request.body, time.time())
            action, version = self.request.headers["x-acs-action"], self.request.headers.get("x-acs-version")
            if version != API_VERSION:
                raise AliyunError(400, "InvalidVersion", "Specified parameter Version is not valid.")
            if action != "SendSms":
                raise AliyunError(404, "InvalidAction.NotFound", "Specified api is not found, please check your "
                                  "url and method.")
            answer = self.sim.send_sms(dict(query), request_id, fault.code if fault else None)
        except AliyunError as exc:
            self.sim.rejected[exc.code] += 1
            self.send_json(exc.body(request_id), status=exc.status)
            return
        self.send_json(answer)


# -- control API -----------------------------------------------------------------------------------------------
class _ControlHandler(ControlErrors, _Handler):
    """Control requests: bad ones are the caller's 400 (simulators/control.py)."""


class MessagesHandler(_ControlHandler):
    def get(self) -> None:
        """`?phone=` in any usual form (`+8613800000001`, `13800000001`; a `+` sent unencoded arrives as a space)."""
        raw = self.get_query_argument("phone", None)
        phone = normalise_phone(raw.strip()) if raw else None
        self.send_json({"messages": self.sim.messages(phone)})


class FaultsHandler(_ControlHandler):
    def post(self) -> None:
        self.sim.faults.append(parse_fault(self.json_body()))
        self.send_json({"faults_pending": [f.describe() for f in self.sim.faults]})

    def get(self) -> None:
        self.send_json({"faults_pending": [f.describe() for f in self.sim.faults]})

    def delete(self) -> None:
        """The provider is back: drop every pending fault (counters and inboxes stay)."""
        self.sim.faults.clear()
        self.send_json({"faults_pending": []})



class TemplatesHandler(_ControlHandler):
    """Templates the account has approved: `{"template_code": "SMS_…", "text": "…${name}…"}` adds one."""

    def get(self) -> None:
        self.send_json({"templates": self.sim.templates})

    def post(self) -> None:
        body = self.json_body()
        self.sim.add_template(str(body.get("template_code") or ""), str(body.get("text") or ""))
        self.send_json({"templates": self.sim.templates}, status=201)


def aliyun_report_acknowledged(answer: Any) -> bool:
    """SmsReport expects `{"code": 0, "msg": "接收成功"}` back."""
    return isinstance(answer, dict) and answer.get("code") == 0


def aliyun_sms_provider(settings: Settings) -> Provider:
    from notifications.templates import default_book  # the notification templates approved at the provider
    from simulators.app import Provider

    reports = ReportSender(url=settings.sim_sms_aliyun_report_url, delay_ms=settings.sim_sms_report_delay_ms,
                           acknowledged=aliyun_report_acknowledged)
    sim = AliyunSmsState(
        {settings.sms_aliyun_access_key_id: settings.sms_aliyun_access_key_secret.get_secret_value()},
        sign_names={settings.sms_sign_name},
        templates={**default_book().sms_texts("aliyun"), settings.sms_template_login: LOGIN_TEMPLATE_TEXT},
        reports=reports,
    )
    kwargs = {"sim": sim}
    routes: list[Any] = [(ActionHeaderMatches("x-acs-action"), RpcHandler, kwargs)]
    control = {"messages": MessagesHandler, "faults": FaultsHandler, "templates": TemplatesHandler,
               "stats": StatsHandler, "reset": ResetHandler}
    routes += [(f"/_sim/sms/{name}", handler, kwargs) for name, handler in control.items()]
    routes += report_routes("sms", reports, ("MK:0001", "用户接收失败"))
    return Provider(name="sms", description="Aliyun SMS SendSms, ACS3-signed (POST / with x-acs-action)",
                    routes=routes)
