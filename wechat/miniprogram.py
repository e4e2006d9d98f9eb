"""Mini-program login: exchange the `wx.login` code for the person's openid (and unionid) via jscode2session.

The session_key lets us decrypt data the mini-program sends later (phone number, etc.); it is a secret of the
person's session, so it is kept out of `repr` and never logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import structlog

from wechat.errors import TransportError
from wechat.http import WeChatHttp, retry_once_if_transient

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Session:
    openid: str
    session_key: str = field(repr=False)
    unionid: str | None = None


class MiniProgram:
    def __init__(self, http: WeChatHttp, *, appid: str, secret: str, retry_backoff_s: float = 0.2) -> None:
        self.http = http
        self.appid = appid
        self._secret = secret
        self.retry_backoff_s = retry_backoff_s

    async def code2session(self, js_code: str) -> Session:
        """The person behind a login code. At most 2 attempts, and only after -1 (busy) or a transport failure.

        Raises InvalidCode (40029), CodeAlreadyUsed (40163), RateLimited (45011), HighRiskUser (40226: refuse the
        login), Busy (-1 twice) or TransportError. Note: if the first attempt timed out after WeChat consumed the
        code, the retry gets CodeAlreadyUsed; the client then has to call `wx.login` again.
        """
        params = {
            "appid": self.appid,
            "secret": self._secret,
            "js_code": js_code,
            "grant_type": "authorization_code",
        }
        data = await retry_once_if_transient(
            lambda: self.http.get_json("/sns/jscode2session", params),
            what="jscode2session",
            backoff_s=self.retry_backoff_s,
        )
        openid, session_key = data.get("openid"), data.get("session_key")
        if not isinstance(openid, str) or not openid or not isinstance(session_key, str) or not session_key:
            raise TransportError("jscode2session answer lacks openid or session_key", status=200)
        unionid = data.get("unionid") or None
        log.info("wechat_code2session", appid=self.appid, has_unionid=unionid is not None)
        return Session(openid=openid, session_key=session_key, unionid=unionid)
