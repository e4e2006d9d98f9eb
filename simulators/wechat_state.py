"""In-memory state of the WeChat simulator (one object per simulator app): apps, people, codes, tokens, faults.

Kept apart from the Tornado handlers so the protocol rules (single-use codes, 5-minute expiry, per-app openids
joined by unionid, one live access token per appid) read as plain code and can be unit-tested without HTTP.
Time is `time.time()` plus an offset the control API can advance, so expiry is testable without waiting.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

KINDS: tuple[str, ...] = ("miniprogram", "official_account")
SCOPES = ("snsapi_base", "snsapi_userinfo")
OLD_TOKEN_GRACE_S = 300  # WeChat keeps the previous access token valid this long after a new one is issued
ERRMSGS = {
    -1: "system error", 40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type", 40003: "invalid openid", 40013: "invalid appid", 40029: "invalid code",
    40125: "invalid appsecret", 40163: "code been used", 40226: "high risk user", 41001: "access_token missing",
    41002: "appid missing", 41004: "appsecret missing", 41008: "missing code", 42001: "access_token expired",
    45011: "api minute-quota reach limit  mustslower  retry next minute", 48001: "api unauthorized",
}
_ID_FORMAT = re.compile(r"[A-Za-z0-9_-]{1,64}")


class SimError(Exception):
    """A WeChat error answer: rendered as `{"errcode", "errmsg"}` with HTTP 200, as WeChat does."""

    def __init__(self, errcode: int, errmsg: str | None = None) -> None:
        super().__init__(errcode)
        self.errcode = errcode
        self.errmsg = errmsg or ERRMSGS.get(errcode, "simulated error")

    def body(self) -> dict[str, Any]:
        return error_body(self.errcode, self.errmsg)


class ControlError(ValueError):
    """A bad control-API request (HTTP 400, or 409 for a person conflict)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def error_body(errcode: int, errmsg: str | None = None) -> dict[str, Any]:
    """WeChat appends a request id to every errmsg; ours has the same shape."""
    rid = "-".join(secrets.token_hex(4) for _ in range(3))
    return {"errcode": errcode, "errmsg": f"{errmsg or ERRMSGS.get(errcode, 'simulated error')}, rid: {rid}"}


def derive_openid(appid: str, unionid: str) -> str:
    """Stable per-app openid for a unionid: 28 characters starting with `o`, like WeChat's."""
    digest = hashlib.sha256(f"{appid}|{unionid}".encode()).digest()
    return "o" + base64.urlsafe_b64encode(digest).decode()[:27]


def new_unionid() -> str:
    return "o" + base64.urlsafe_b64encode(secrets.token_bytes(21)).decode()[:27]


@dataclass(frozen=True)
class SimApp:
    kind: str
    appid: str
    secret: str


@dataclass
class Code:
    appid: str
    openid: str
    issued_at: float
    scope: str
    used: bool = False


@dataclass
class Token:
    appid: str
    expires_at: float
    revoked: bool = False


@dataclass
class OAuthToken:
    appid: str
    openid: str
    scope: str
    expires_at: float


@dataclass
class Fault:
    errcode: int | None
    delay_ms: int
    http_status: int | None
    times: int


class WeChatSimState:
    def __init__(self, apps: list[SimApp]) -> None:
        self.apps = {app.appid: app for app in apps}
        # Parts kept in their own modules (messaging): reset and counted with the rest; each has reset() and stats().
        self.extensions: list[Any] = []
        self.reset()

    def reset(self) -> None:
        self.clock_offset = 0.0
        self.code_ttl_s = 300
        self.access_token_expires_in = 7200
        self.links: dict[tuple[str, str], str | None] = {}  # (appid, openid) -> unionid
        self.openid_by_union: dict[tuple[str, str], str] = {}  # (appid, unionid) -> openid
        self.profiles: dict[str, dict[str, str]] = {}  # unionid, or "appid/openid" without one
        self.current_person: dict[str, str | None] | None = None
        self.codes: dict[str, Code] = {}
        self.tokens: dict[str, Token] = {}
        self.oauth_tokens: dict[str, OAuthToken] = {}
        self.faults: dict[str, deque[Fault]] = {}
        self.calls: Counter[str] = Counter()
        self.issued: Counter[str] = Counter()
        self.tokens_by_appid: Counter[str] = Counter()
        for extension in self.extensions:
            extension.reset()

    def now(self) -> float:
        return time.time() + self.clock_offset

    def app_of(self, kind: str) -> SimApp:
        for app in self.apps.values():
            if app.kind == kind:
                return app
        raise ControlError(f"app must be one of {KINDS}")

    def check_app(self, appid: str | None, secret: str | None) -> SimApp:
        if not appid:
            raise SimError(41002)
        app = self.apps.get(appid)
        if app is None:
            raise SimError(40013)
        if not secret:
            raise SimError(41004)
        if not secrets.compare_digest(secret.encode(), app.secret.encode()):
            raise SimError(40125)
        return app

    # -- people and codes ---------------------------------------------------------------------------------
    def resolve_person(self, appid: str, openid: str | None, unionid: str | None) -> tuple[str, str | None]:
        """The (openid, unionid) of a person in one app; only a unionid given derives a stable openid."""
        for value in (openid, unionid):
            if value is not None and not _ID_FORMAT.fullmatch(value):
                raise ControlError("openid/unionid: 1-64 characters of A-Z a-z 0-9 _ -")
        if openid is None and unionid is None:
            unionid = new_unionid()
        if unionid is None:
            assert openid is not None
            return openid, self.links.setdefault((appid, openid), None)
        known = self.openid_by_union.get((appid, unionid))
        openid = openid or known or derive_openid(appid, unionid)
        linked = self.links.get((appid, openid))
        if (known is not None and known != openid) or (linked is not None and linked != unionid):
            raise ControlError("this openid/unionid pair contradicts an earlier one in this app", 409)
        self.links[(appid, openid)] = unionid
        self.openid_by_union[(appid, unionid)] = openid
        return openid, unionid

    def set_profile(self, appid: str, openid: str, unionid: str | None, nickname: str | None, avatar: str | None) -> None:
        profile = self.profiles.setdefault(unionid or f"{appid}/{openid}", {
            "nickname": "微信用户",
            "headimgurl": f"http://127.0.0.1/wechat-avatar/{(unionid or openid)[-8:]}/132",
        })
        if nickname:
            profile["nickname"] = nickname
        if avatar:
            profile["headimgurl"] = avatar

    def mint_code(self, kind: str, *, openid: str | None = None, unionid: str | None = None,
                  scope: str = "snsapi_base", nickname: str | None = None, headimgurl: str | None = None
                  ) -> dict[str, Any]:
        if scope not in SCOPES:
            raise ControlError(f"scope must be one of {SCOPES}")
        app = self.app_of(kind)
        openid, unionid = self.resolve_person(app.appid, openid, unionid)
        self.set_profile(app.appid, openid, unionid, nickname, headimgurl)
        now = self.now()
        self.codes = {c: v for c, v in self.codes.items() if now - v.issued_at <= self.code_ttl_s}
        code = secrets.token_urlsafe(24)
        self.codes[code] = Code(app.appid, openid, now, scope)
        self.issued["codes"] += 1
        return {"code": code, "openid": openid, "unionid": unionid, "appid": app.appid}

    def take_code(self, appid: str, code: str | None) -> Code:
        """Single use: unknown, expired or another app's code is 40029; a second use is 40163."""
        if not code:
            raise SimError(41008)
        found = self.codes.get(code)
        if found is None or found.appid != appid or self.now() - found.issued_at > self.code_ttl_s:
            raise SimError(40029)
        if found.used:
            raise SimError(40163)
        found.used = True
        return found

    def session_for(self, appid: str, code: str | None) -> dict[str, Any]:
        taken = self.take_code(appid, code)
        body: dict[str, Any] = {
            "session_key": base64.b64encode(secrets.token_bytes(16)).decode(),
            "openid": taken.openid,
        }
        unionid = self.links.get((appid, taken.openid))
        if unionid:
            body["unionid"] = unionid
        self.issued["sessions"] += 1
        return body

    # -- access tokens -------------------------------------------------------------------------------------
    def issue_access_token(self, appid: str) -> dict[str, Any]:
        now = self.now()
        for token in self.tokens.values():
            if token.appid == appid:
                token.expires_at = min(token.expires_at, now + OLD_TOKEN_GRACE_S)
        value = secrets.token_urlsafe(96)
        self.tokens[value] = Token(appid, now + self.access_token_expires_in)
        self.issued["access_tokens"] += 1
        self.tokens_by_appid[appid] += 1
        return {"access_token": value, "expires_in": self.access_token_expires_in}

    def check_access_token(self, value: str | None) -> Token:
        if not value:
            raise SimError(41001)
        token = self.tokens.get(value)
        if token is None or token.revoked:
            raise SimError(40001)
        if self.now() >= token.expires_at:
            raise SimError(42001)
        return token

    def revoke_access_tokens(self, appid: str | None = None) -> int:
        revoked = [t for t in self.tokens.values() if not t.revoked and appid in (None, t.appid)]
        for token in revoked:
            token.revoked = True
        return len(revoked)

    # -- official-account OAuth ----------------------------------------------------------------------------
    def oauth_token_for(self, appid: str, code: str | None) -> dict[str, Any]:
        taken = self.take_code(appid, code)
        value = secrets.token_urlsafe(64)
        self.oauth_tokens[value] = OAuthToken(appid, taken.openid, taken.scope, self.now() + 7200)
        self.issued["oauth_tokens"] += 1
        body: dict[str, Any] = {
            "access_token": value,
            "expires_in": 7200,
            "refresh_token": secrets.token_urlsafe(64),
            "openid": taken.openid,
            "scope": taken.scope,
        }
        unionid = self.links.get((appid, taken.openid))
        if unionid and taken.scope == "snsapi_userinfo":  # WeChat: unionid only with snsapi_userinfo
            body["unionid"] = unionid
        return body

    def userinfo(self, value: str | None, openid: str | None) -> dict[str, Any]:
        if not value:
            raise SimError(41001)
        token = self.oauth_tokens.get(value)
        if token is None:
            raise SimError(40001)
        if self.now() >= token.expires_at:
            raise SimError(42001)
        if openid != token.openid:
            raise SimError(40003)
        if token.scope != "snsapi_userinfo":
            raise SimError(48001)
        unionid = self.links.get((token.appid, token.openid))
        profile = self.profiles.get(unionid or f"{token.appid}/{token.openid}", {})
        body: dict[str, Any] = {
            "openid": token.openid, "nickname": profile.get("nickname", "微信用户"), "sex": 0, "province": "",
            "city": "", "country": "", "headimgurl": profile.get("headimgurl", ""), "privilege": [],
        }
        if unionid:
            body["unionid"] = unionid
        return body

    # -- faults and counters -------------------------------------------------------------------------------
    def add_fault(self, path: str, *, errcode: int | None, delay_ms: int, http_status: int | None, times: int) -> None:
        if times < 1 or delay_ms < 0:
            raise ControlError("times must be >= 1 and delay_ms >= 0")
        if errcode is None and not delay_ms and http_status is None:
            raise ControlError("a fault needs errcode, delay_ms or http_status")
        self.faults.setdefault(path, deque()).append(Fault(errcode, delay_ms, http_status, times))

    def next_fault(self, path: str) -> Fault | None:
        queue = self.faults.get(path)
        if not queue:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.popleft()
        return fault

    def stats(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        for extension in self.extensions:
            extra.update(extension.stats())
        return {
            **extra,
            "calls": dict(self.calls),
            "codes_minted": self.issued["codes"],
            "sessions_issued": self.issued["sessions"],
            "access_tokens_issued": self.issued["access_tokens"],
            "access_tokens_issued_by_appid": dict(self.tokens_by_appid),
            "oauth_tokens_issued": self.issued["oauth_tokens"],
            "faults_pending": {p: sum(f.times for f in q) for p, q in self.faults.items() if q},
        }
