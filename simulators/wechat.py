"""WeChat simulator: the mini-program and official-account APIs our adapter calls, in WeChat's own wire format.

Real paths live under `/wechat` (so `https://api.weixin.qq.com` and `https://open.weixin.qq.com` both map to
`http://<sim>/wechat`); errors are HTTP 200 with `{"errcode", "errmsg"}` as WeChat answers them. The control API
under `/_sim/wechat/` acts as the person's phone (mint login codes, choose who authorizes) and injects faults.
Documented with curl examples in docs/simulators.md.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlencode, urlsplit

from tornado.web import RequestHandler

from config.settings import Settings
from simulators.control import ResetHandler, StatsHandler
from simulators.wechat_state import KINDS, ControlError, SimApp, SimError, WeChatSimState, error_body

if TYPE_CHECKING:
    from simulators.app import Provider

PREFIX = "/wechat"
_HTML_DOWN = "<html><body><h1>502 Bad Gateway</h1></body></html>"


class _SimHandler(RequestHandler):
    def initialize(self, sim: WeChatSimState) -> None:
        self.sim = sim

    def send_json(self, body: Any, *, status: int = 200, content_type: str = "application/json; encoding=utf-8") -> None:
        self.set_status(status)
        self.set_header("Content-Type", content_type)
        self.finish(json.dumps(body, ensure_ascii=False))

    def arg(self, name: str) -> str | None:
        return self.get_query_argument(name, None)

    def _request_summary(self) -> str:
        # Tornado's access/error log line: path only, since WeChat's query strings carry secrets and codes.
        return f"{self.request.method} {self.request.path} ({self.request.remote_ip})"


class WeChatApiHandler(_SimHandler):
    """Counts the call, applies the next injected fault for this path, then answers like WeChat."""

    api_path: ClassVar[str]
    content_type: ClassVar[str] = "application/json; encoding=utf-8"

    def initialize(self, sim: WeChatSimState) -> None:
        super().initialize(sim)
        self.closed = asyncio.Event()

    def on_connection_close(self) -> None:
        self.closed.set()

    async def get(self) -> None:
        await self.serve()

    async def serve(self) -> None:
        self.sim.calls[self.api_path] += 1
        fault = self.sim.next_fault(self.api_path)
        if fault is not None and fault.delay_ms:
            try:  # stop early if the client gave up (its timeout), so nothing keeps sleeping
                await asyncio.wait_for(self.closed.wait(), fault.delay_ms / 1000)
                return
            except TimeoutError:
                pass
        if fault is not None and fault.http_status is not None:
            self.set_status(fault.http_status)
            self.set_header("Content-Type", "text/html")
            self.finish(_HTML_DOWN)
            return
        if fault is not None and fault.errcode is not None:
            body = error_body(fault.errcode)
        else:
            try:
                body = self.answer()
            except SimError as exc:
                body = exc.body()
        self.send_json(body, content_type=self.content_type)

    def answer(self) -> dict[str, Any]:
        raise NotImplementedError


class JsCode2SessionHandler(WeChatApiHandler):
    api_path = "/sns/jscode2session"
    content_type = "text/plain"  # WeChat really answers jscode2session as text/plain

    def answer(self) -> dict[str, Any]:
        app = self.sim.check_app(self.arg("appid"), self.arg("secret"))
        if self.arg("grant_type") != "authorization_code":
            raise SimError(40002)
        return self.sim.session_for(app.appid, self.arg("js_code"))


class TokenHandler(WeChatApiHandler):
    api_path = "/cgi-bin/token"

    def answer(self) -> dict[str, Any]:
        if self.arg("grant_type") != "client_credential":
            raise SimError(40002)
        app = self.sim.check_app(self.arg("appid"), self.arg("secret"))
        return self.sim.issue_access_token(app.appid)


class ApiDomainIpHandler(WeChatApiHandler):
    api_path = "/cgi-bin/get_api_domain_ip"

    def answer(self) -> dict[str, Any]:
        self.sim.check_access_token(self.arg("access_token"))
        return {"ip_list": ["127.0.0.1"]}


class OAuthAccessTokenHandler(WeChatApiHandler):
    api_path = "/sns/oauth2/access_token"

    def answer(self) -> dict[str, Any]:
        app = self.sim.check_app(self.arg("appid"), self.arg("secret"))
        if self.arg("grant_type") != "authorization_code":
            raise SimError(40002)
        return self.sim.oauth_token_for(app.appid, self.arg("code"))


class UserInfoHandler(WeChatApiHandler):
    api_path = "/sns/userinfo"

    def answer(self) -> dict[str, Any]:
        return self.sim.userinfo(self.arg("access_token"), self.arg("openid"))


class AuthorizeHandler(_SimHandler):
    """The person's phone on the authorize page: consents at once and redirects back with `code` and `state`.

    Who the person is: `sim_openid` / `sim_unionid` query parameters, else the current person set through the
    control API. `sim_decision=deny` refuses a snsapi_userinfo request (WeChat then sends `state` only).
    """

    def get(self) -> None:
        self.sim.calls["/connect/oauth2/authorize"] += 1
        appid, redirect_uri, scope = self.arg("appid"), self.arg("redirect_uri"), self.arg("scope")
        app = self.sim.apps.get(appid or "")
        problem = (
            (10012, "appid 不能为空") if not appid else
            (10016, "appid 不是公众号") if app is None or app.kind != "official_account" else
            (10011, "redirect_uri 不能为空") if not redirect_uri else
            (10003, "redirect_uri 参数错误") if urlsplit(redirect_uri).scheme not in ("http", "https") else
            (10010, "scope 不能为空") if not scope else
            (10005, "此公众号并没有这些 scope 的权限") if scope not in ("snsapi_base", "snsapi_userinfo") else
            (10004, "response_type 必须为 code") if self.arg("response_type") != "code" else None
        )
        if problem is not None:
            self.send_json(error_body(*problem), status=400)
            return
        assert app is not None and redirect_uri is not None and scope is not None
        state = self.arg("state") or ""
        joiner = "&" if "?" in redirect_uri else "?"
        if self.arg("sim_decision") == "deny" and scope == "snsapi_userinfo":
            self.redirect(f"{redirect_uri}{joiner}{urlencode({'state': state})}")
            return
        person = {"openid": self.arg("sim_openid"), "unionid": self.arg("sim_unionid"),
                  "nickname": self.arg("sim_nickname")}
        if not (person["openid"] or person["unionid"]):
            if self.sim.current_person is None:
                self.send_json({"error": "no person: pass sim_openid/sim_unionid or POST "
                                         "/_sim/wechat/current_person"}, status=400)
                return
            person = dict(self.sim.current_person)
        try:
            minted = self.sim.mint_code("official_account", openid=person["openid"], unionid=person["unionid"],
                                        scope=scope, nickname=person.get("nickname"))
        except ControlError as exc:
            self.send_json({"error": str(exc)}, status=exc.status)
            return
        self.redirect(f"{redirect_uri}{joiner}{urlencode({'code': minted['code'], 'state': state})}")


# -- control API -----------------------------------------------------------------------------------------------
class _ControlHandler(_SimHandler):
    def body(self) -> dict[str, Any]:
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError as exc:
            raise ControlError("body must be JSON") from exc
        if not isinstance(data, dict):
            raise ControlError("body must be a JSON object")
        return data

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """A bad control request (ControlError, or a ValueError from a malformed number) is the caller's 400."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, ValueError):
            status_code = exc.status if isinstance(exc, ControlError) else 400
        self.send_json({"error": str(exc) if exc else self._reason}, status=status_code)

    def log_exception(self, typ: Any, value: BaseException | None, tb: Any) -> None:
        if not isinstance(value, ValueError):
            super().log_exception(typ, value, tb)


class CodesHandler(_ControlHandler):
    def post(self) -> None:
        body = self.body()
        if body.get("app") not in KINDS:
            raise ControlError(f"app must be one of {KINDS}")
        self.send_json(self.sim.mint_code(
            body["app"], openid=body.get("openid"), unionid=body.get("unionid"),
            scope=body.get("scope", "snsapi_base"), nickname=body.get("nickname"), headimgurl=body.get("headimgurl"),
        ))


class CurrentPersonHandler(_ControlHandler):
    def post(self) -> None:
        body = self.body()
        person = {"openid": body.get("openid"), "unionid": body.get("unionid"), "nickname": body.get("nickname")}
        app = self.sim.app_of("official_account")
        person["openid"], person["unionid"] = self.sim.resolve_person(app.appid, person["openid"], person["unionid"])
        self.sim.current_person = person
        self.send_json(person)

    def delete(self) -> None:
        self.sim.current_person = None
        self.set_status(204)


class FaultsHandler(_ControlHandler):
    def post(self) -> None:
        body = self.body()
        path = normalize_path(str(body.get("path", "")))
        paths = {h.api_path for h in api_handlers()}
        if path not in paths:
            raise ControlError(f"path must be one of {sorted(paths)}")
        times = int(body.get("times", 1))
        errcode = body.get("errcode")
        status = body.get("http_status")
        self.sim.add_fault(path, errcode=None if errcode is None else int(errcode), delay_ms=int(body.get("delay_ms", 0)),
                           http_status=None if status is None else int(status), times=times)
        self.send_json({"path": path, "times": times})

    def get(self) -> None:
        self.send_json(self.sim.stats()["faults_pending"])



class ClockHandler(_ControlHandler):
    def post(self) -> None:
        self.sim.clock_offset += float(self.body().get("advance_s", 0))
        self.send_json({"clock_offset_s": self.sim.clock_offset})


class ConfigHandler(_ControlHandler):
    def post(self) -> None:
        body = self.body()
        if "access_token_expires_in" in body:
            self.sim.access_token_expires_in = max(1, int(body["access_token_expires_in"]))
        if "code_ttl_s" in body:
            self.sim.code_ttl_s = max(1, int(body["code_ttl_s"]))
        self.send_json({"access_token_expires_in": self.sim.access_token_expires_in, "code_ttl_s": self.sim.code_ttl_s})


class RevokeTokensHandler(_ControlHandler):
    def post(self) -> None:
        self.send_json({"revoked": self.sim.revoke_access_tokens(self.body().get("appid"))})


API_HANDLERS: tuple[type[WeChatApiHandler], ...] = (
    JsCode2SessionHandler, TokenHandler, ApiDomainIpHandler, OAuthAccessTokenHandler, UserInfoHandler,
)
API_PATHS = frozenset(h.api_path for h in API_HANDLERS)


def api_handlers() -> tuple[type[WeChatApiHandler], ...]:
    """Every WeChat API the simulator serves: the ones above plus the message sends (simulators/wechat_messages.py)."""
    from simulators.wechat_messages import MESSAGE_HANDLERS

    return API_HANDLERS + MESSAGE_HANDLERS


def normalize_path(path: str) -> str:
    """`/wechat/sns/jscode2session`, `/sns/jscode2session` and `sns/jscode2session` name the same API."""
    path = "/" + path.strip().lstrip("/")
    return path.removeprefix(PREFIX) if path.startswith(PREFIX + "/") else path


def wechat_provider(settings: Settings) -> Provider:
    from simulators.app import Provider
    from simulators.wechat_messages import messaging_control_routes

    sim = WeChatSimState([
        SimApp("miniprogram", settings.wechat_mp_appid, settings.wechat_mp_secret.get_secret_value()),
        SimApp("official_account", settings.wechat_oa_appid, settings.wechat_oa_secret.get_secret_value()),
    ])
    kwargs = {"sim": sim}
    routes: list[Any] = [(PREFIX + h.api_path, h, kwargs) for h in api_handlers()]
    routes.append((PREFIX + "/connect/oauth2/authorize", AuthorizeHandler, kwargs))
    routes += messaging_control_routes(sim)
    control = {
        "codes": CodesHandler, "current_person": CurrentPersonHandler, "faults": FaultsHandler,
        "stats": StatsHandler, "reset": ResetHandler, "clock": ClockHandler, "config": ConfigHandler,
        "access_tokens/revoke": RevokeTokensHandler,
    }
    routes += [(f"/_sim/wechat/{name}", handler, kwargs) for name, handler in control.items()]
    return Provider(
        name="wechat",
        description="WeChat mini-program login, access tokens, official-account web OAuth, subscribe and template "
                    "messages (under /wechat)",
        routes=routes,
    )
