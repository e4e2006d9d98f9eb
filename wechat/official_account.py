"""Official-account template messages (`POST /cgi-bin/message/template/send`), for people who follow the account.

A template message may open a mini-program page (`miniprogram`: appid + pagepath; WeChat prefers it over `url`
when both are given and falls back to `url` on clients that cannot open mini-programs). `client_msg_id` is
WeChat's own de-duplication key: the same openid + client_msg_id is sent once (WeChat keeps it for about 10
minutes), so a notification task that retries after a lost answer passes the same id and cannot send twice.
The only retry here is the access-token one (40001/42001); other failures are raised for the task to decide.
"""

from __future__ import annotations

from collections.abc import Mapping

import structlog

from wechat.access_token import AccessTokenManager
from wechat.errors import TransportError
from wechat.http import WeChatHttp

log = structlog.get_logger(__name__)

SEND_PATH = "/cgi-bin/message/template/send"


def template_body(openid: str, template_id: str, data: Mapping[str, str], miniprogram: tuple[str, str] | None,
                  url: str | None, client_msg_id: str | None) -> dict[str, object]:
    body: dict[str, object] = {
        "touser": openid,
        "template_id": template_id,
        "data": {key: {"value": value} for key, value in data.items()},
    }
    if url:
        body["url"] = url
    if miniprogram is not None:
        appid, pagepath = miniprogram
        body["miniprogram"] = {"appid": appid, "pagepath": pagepath}
    if client_msg_id:
        body["client_msg_id"] = client_msg_id
    return body


class OfficialAccount:
    def __init__(self, http: WeChatHttp, tokens: AccessTokenManager) -> None:
        self.http = http
        self.tokens = tokens  # the official account's access token

    async def send_template_message(
        self,
        openid: str,
        template_id: str,
        data: Mapping[str, str],
        miniprogram: tuple[str, str] | None = None,
        url: str | None = None,
        *,
        client_msg_id: str | None = None,
    ) -> int:
        """Send one template message to a follower (openid of the official account); returns WeChat's msgid.

        Raises NotFollower (43004), InvalidOpenid (40003), InvalidTemplateId (40037), InvalidTemplateData
        (47003), InvalidAccessToken (still rejected after one refresh), Busy, RateLimited/QuotaExceeded,
        TransportError or AccessTokenUnavailable; `wechat.errors.is_transient` tells which are worth a retry.
        """
        body = template_body(openid, template_id, data, miniprogram, url, client_msg_id)

        async def call(token: str) -> dict[str, object]:
            return await self.http.request("POST", SEND_PATH, params={"access_token": token}, body=body)

        answer = await self.tokens.with_token(call)
        msgid = answer.get("msgid")
        if not isinstance(msgid, int) or isinstance(msgid, bool):
            raise TransportError("template/send answer lacks msgid", status=200)
        log.info("wechat_template_message_sent", appid=self.tokens.appid, template_id=template_id, msgid=msgid,
                 to_miniprogram=miniprogram is not None)
        return msgid
