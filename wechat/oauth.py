"""Official-account web OAuth2 (H5 pages opened inside WeChat): authorize URL, CSRF state, code exchange, profile.

The `state` we send is random, stored in Redis for 10 minutes and single-use, so a forged or replayed callback
is refused before WeChat is asked. Optionally it is bound to the browser (e.g. a cookie value) so a state issued to
one browser cannot complete a login in another (login CSRF).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import quote, urlencode

import redis.asyncio as aioredis
import structlog

from wechat.errors import OAuthStateError, TransportError
from wechat.http import WeChatHttp, retry_once_if_transient

log = structlog.get_logger(__name__)

Scope = Literal["snsapi_base", "snsapi_userinfo"]
SCOPES: tuple[str, ...] = ("snsapi_base", "snsapi_userinfo")
_STATE_FORMAT = re.compile(r"[A-Za-z0-9]{1,128}")  # WeChat passes back only a-zA-Z0-9, at most 128 bytes
_USED = "\x00used"

# Atomically: nil if unknown/expired, the marker if used before, else the record (and mark it used, same TTL).
CONSUME_STATE = """
local value = redis.call('GET', KEYS[1])
if not value then return false end
if value == ARGV[1] then return value end
redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL')
return value
"""


@dataclass(frozen=True, slots=True)
class AuthorizeRequest:
    url: str
    state: str


@dataclass(frozen=True, slots=True)
class OAuthResult:
    openid: str
    unionid: str | None  # WeChat returns it for snsapi_userinfo only (and only if the account is bound)
    scope: str
    access_token: str = field(repr=False)
    expires_in: int = 7200
    data: str = ""  # what the caller stored with the state, e.g. the page to return to


@dataclass(frozen=True, slots=True)
class UserInfo:
    openid: str
    nickname: str
    headimgurl: str
    unionid: str | None


def build_authorize_url(open_base_url: str, appid: str, redirect_uri: str, scope: str, state: str) -> str:
    """WeChat checks the parameter order (appid, redirect_uri, response_type, scope, state) and the fragment."""
    query = urlencode(
        [("appid", appid), ("redirect_uri", redirect_uri), ("response_type", "code"), ("scope", scope),
         ("state", state)],
        quote_via=quote,
    )
    return f"{open_base_url.rstrip('/')}/connect/oauth2/authorize?{query}#wechat_redirect"


def _binding_digest(binding: str | None) -> str | None:
    return None if binding is None else hashlib.sha256(binding.encode()).hexdigest()


class OfficialAccountOAuth:
    def __init__(
        self,
        http: WeChatHttp,
        redis: aioredis.Redis,
        *,
        appid: str,
        secret: str,
        open_base_url: str,
        key_prefix: str = "wechat:",
        state_ttl_s: int = 600,
        retry_backoff_s: float = 0.2,
    ) -> None:
        self.http = http
        self.redis = redis
        self.appid = appid
        self._secret = secret
        self.open_base_url = open_base_url
        self.state_prefix = f"{key_prefix}oauth_state:"
        self.state_ttl_s = state_ttl_s
        self.retry_backoff_s = retry_backoff_s
        self._consume = redis.register_script(CONSUME_STATE)

    async def authorize_url(
        self, redirect_uri: str, *, scope: Scope = "snsapi_base", data: str = "", binding: str | None = None
    ) -> AuthorizeRequest:
        """Issue a state (single use, `state_ttl_s`) and the URL to send the browser to."""
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {SCOPES}")
        state = secrets.token_hex(16)
        record = {"scope": scope, "data": data, "binding": _binding_digest(binding)}
        await self.redis.set(self.state_prefix + state, json.dumps(record), ex=self.state_ttl_s, nx=True)
        return AuthorizeRequest(build_authorize_url(self.open_base_url, self.appid, redirect_uri, scope, state), state)

    async def consume_state(self, state: str, *, binding: str | None = None) -> dict[str, str | None]:
        """Check and use up a state; raises OAuthStateError (unknown_or_expired, already_used, binding_mismatch)."""
        if not _STATE_FORMAT.fullmatch(state or ""):
            raise OAuthStateError("unknown_or_expired")
        raw = await self._consume(keys=[self.state_prefix + state], args=[_USED])
        if raw is None:
            raise OAuthStateError("unknown_or_expired")
        value = raw.decode() if isinstance(raw, bytes) else str(raw)
        if value == _USED:
            raise OAuthStateError("already_used")
        record: dict[str, str | None] = json.loads(value)
        if record.get("binding") is not None and record["binding"] != _binding_digest(binding):
            raise OAuthStateError("binding_mismatch")
        return record

    async def exchange_code(self, code: str, state: str, *, binding: str | None = None) -> OAuthResult:
        """State first (no WeChat call for a bad one), then `/sns/oauth2/access_token` for the person's openid."""
        record = await self.consume_state(state, binding=binding)
        params = {"appid": self.appid, "secret": self._secret, "code": code, "grant_type": "authorization_code"}
        data = await retry_once_if_transient(
            lambda: self.http.get_json("/sns/oauth2/access_token", params),
            what="sns/oauth2/access_token",
            backoff_s=self.retry_backoff_s,
        )
        openid, token = data.get("openid"), data.get("access_token")
        if not isinstance(openid, str) or not openid or not isinstance(token, str) or not token:
            raise TransportError("oauth2/access_token answer lacks openid or access_token", status=200)
        unionid = data.get("unionid") or None
        log.info("wechat_oauth_exchanged", appid=self.appid, scope=data.get("scope"), has_unionid=unionid is not None)
        return OAuthResult(
            openid=openid,
            unionid=unionid,
            scope=str(data.get("scope") or record.get("scope") or ""),
            access_token=token,
            expires_in=int(data.get("expires_in") or 7200),
            data=str(record.get("data") or ""),
        )

    async def userinfo(self, access_token: str, openid: str) -> UserInfo:
        """Profile for a snsapi_userinfo token (a snsapi_base token gets WeChat's 48001 as a WeChatError)."""
        params = {"access_token": access_token, "openid": openid, "lang": "zh_CN"}
        data = await retry_once_if_transient(
            lambda: self.http.get_json("/sns/userinfo", params), what="sns/userinfo", backoff_s=self.retry_backoff_s
        )
        return UserInfo(
            openid=str(data.get("openid") or openid),
            nickname=str(data.get("nickname") or ""),
            headimgurl=str(data.get("headimgurl") or ""),
            unionid=data.get("unionid") or None,
        )
