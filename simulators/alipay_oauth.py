"""`alipay.system.oauth.token` in the Alipay simulator: the auth codes `my.getAuthCode` gives the mini-program
(minted here by the control API, as if the person tapped "allow"), exchanged once for the user's ids.

Rules kept from Alipay: grant_type is `authorization_code` or `refresh_token` (else 40002
`isv.grant-type-invalid`); a code is single-use and short-lived (Alipay: 3 minutes to 24 hours; here
`auth_code_ttl_s`, 180 s unless configured) and only for the app it was minted for — an unknown, used or expired
code is 40002 `isv.code-invalid` "授权码code无效", an unknown refresh token `isv.refresh-token-invalid`. The
answer names the user by `open_id` (per app; apps made since Alipay's OpenID upgrade, the default) or by
`user_id` (2088…, the same for every app; older apps: `oauth_id_type` "user_id"), with an access token and a
refresh token. The gateway renders this method's errors under `error_response`, as Alipay does.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from simulators.alipay_errors import invalid

SHANGHAI = ZoneInfo("Asia/Shanghai")
METHOD = "alipay.system.oauth.token"
DEFAULT_CODE_TTL_S = 180
ACCESS_TOKEN_S, REFRESH_TOKEN_S = 1_296_000, 2_592_000  # 15 and 30 days, as Alipay answers them
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class AlipayUser:
    user_id: str  # 2088 + 12 digits: the same for every app
    open_id: str  # per app

    def view(self) -> dict[str, str]:
        return {"user_id": self.user_id, "open_id": self.open_id}


@dataclass
class _Code:
    user: AlipayUser
    app_id: str
    expires_at: float
    used: bool = False


def open_id_of(app_id: str, user_id: str) -> str:
    """A stable per-app open id in Alipay's shape: `0` then 46 of [0-9A-Za-z]."""
    number = int.from_bytes(hashlib.sha512(f"{app_id}:{user_id}".encode()).digest(), "big")
    chars = []
    for _ in range(46):
        number, digit = divmod(number, 62)
        chars.append(_BASE62[digit])
    return "0" + "".join(chars)


class AlipayOAuth:
    def __init__(self, app_id: str) -> None:
        self.app_id = app_id
        self.reset()

    def reset(self) -> None:
        self.users: dict[str, AlipayUser] = {}
        self.codes: dict[str, _Code] = {}
        self.refresh_tokens: dict[str, AlipayUser] = {}
        self.code_ttl_s: float = DEFAULT_CODE_TTL_S
        self.id_type = "open_id"
        self.counts: Counter[str] = Counter()

    def configure(self, *, code_ttl_s: float | None = None, id_type: str | None = None) -> dict[str, Any]:
        if code_ttl_s is not None:
            if code_ttl_s < 0:
                raise ValueError("auth_code_ttl_s must be >= 0")
            self.code_ttl_s = code_ttl_s
        if id_type is not None:
            if id_type not in ("open_id", "user_id"):
                raise ValueError("oauth_id_type must be open_id or user_id")
            self.id_type = id_type
        return {"auth_code_ttl_s": self.code_ttl_s, "oauth_id_type": self.id_type}

    def user(self, user_id: str | None = None) -> AlipayUser:
        """The Alipay user with this id (2088 + 12 digits), or a brand-new one."""
        if user_id is not None and (len(user_id) != 16 or not user_id.startswith("2088") or not user_id.isdigit()):
            raise ValueError("user_id must be 2088 followed by 12 digits")
        user_id = user_id or "2088" + f"{secrets.randbelow(10**12):012d}"
        if user_id not in self.users:
            self.users[user_id] = AlipayUser(user_id, open_id_of(self.app_id, user_id))
        return self.users[user_id]

    def mint(self, user_id: str | None = None, *, app_id: str | None = None) -> tuple[str, AlipayUser]:
        """What `my.getAuthCode({scopes: 'auth_base'})` returns on the person's phone."""
        user = self.user(user_id)
        now = time.monotonic()
        self.codes = {c: v for c, v in self.codes.items() if v.expires_at >= now and not v.used}
        code = secrets.token_hex(16)
        self.codes[code] = _Code(user, app_id or self.app_id, now + self.code_ttl_s)
        self.counts["auth_codes_minted"] += 1
        return code, user

    def token(self, params: Mapping[str, str]) -> dict[str, Any]:
        """The method itself, from the request's top-level parameters (it has no biz_content)."""
        grant = params.get("grant_type") or ""
        if grant == "authorization_code":
            found = self.codes.get(params.get("code") or "")
            if found is None or found.used or found.app_id != params.get("app_id") or \
                    found.expires_at < time.monotonic():
                self.counts["codes_refused"] += 1
                raise invalid("isv.code-invalid", "授权码code无效")
            found.used = True
            user = found.user
        elif grant == "refresh_token":
            user = self.refresh_tokens.get(params.get("refresh_token") or "")  # type: ignore[assignment]
            if user is None:
                raise invalid("isv.refresh-token-invalid", "刷新令牌refresh_token无效")
        else:
            raise invalid("isv.grant-type-invalid", "grant_type参数不正确")
        refresh = "authusrB" + secrets.token_hex(16)
        self.refresh_tokens[refresh] = user
        self.counts["tokens_issued"] += 1
        answer: dict[str, Any] = {
            "access_token": "authusrB" + secrets.token_hex(16), "auth_start":
            datetime.now(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"), "expires_in": ACCESS_TOKEN_S,
            "re_expires_in": REFRESH_TOKEN_S, "refresh_token": refresh}
        answer[self.id_type] = user.open_id if self.id_type == "open_id" else user.user_id
        return answer

    def stats(self) -> dict[str, Any]:
        now = time.monotonic()
        pending = sum(not c.used and c.expires_at >= now for c in self.codes.values())
        return {"oauth": dict(self.counts), "auth_codes_pending": pending}
