"""Mini-program subscribe messages (`subscribeMessage.send`): one message per grant the person gave in the app.

Values go out as given: fit them first with `wechat.subscribe_fields.fit_data` (WeChat refuses the whole message
with 47003 when one field breaks its rule). The only retry here is the access-token one (40001/42001: refresh
once, send once more). Busy, timeouts and 5xx are raised, not retried: a send whose answer was lost may have
been delivered, so whether to try again is the notification task's decision (a second try can at worst meet
43101, the grant being used up, never a second message).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import structlog

from wechat.access_token import AccessTokenManager
from wechat.http import WeChatHttp

log = structlog.get_logger(__name__)

MiniprogramState = Literal["developer", "trial", "formal"]
Lang = Literal["zh_CN", "en_US", "zh_HK", "zh_TW"]
SEND_PATH = "/cgi-bin/message/subscribe/send"


def subscribe_body(openid: str, template_id: str, data: Mapping[str, str], page: str | None,
                   miniprogram_state: MiniprogramState, lang: Lang) -> dict[str, object]:
    """The JSON WeChat expects: every value wrapped as `{"value": …}`; `page` omitted when there is none."""
    body: dict[str, object] = {
        "touser": openid,
        "template_id": template_id,
        "data": {key: {"value": value} for key, value in data.items()},
        "miniprogram_state": miniprogram_state,
        "lang": lang,
    }
    if page:
        body["page"] = page
    return body


class SubscribeMessages:
    def __init__(self, http: WeChatHttp, tokens: AccessTokenManager) -> None:
        self.http = http
        self.tokens = tokens  # the mini-program's access token

    async def send_subscribe_message(
        self,
        openid: str,
        template_id: str,
        data: Mapping[str, str],
        page: str | None = None,
        miniprogram_state: MiniprogramState = "formal",
        *,
        lang: Lang = "zh_CN",
    ) -> None:
        """Send one message; returns when WeChat accepted it (WeChat gives no message id for these).

        Raises SubscriptionRefused (43101: no grant left), InvalidOpenid (40003), InvalidTemplateData (47003,
        errmsg names the field), InvalidTemplateId (40037), InvalidPage (41030), InvalidAccessToken (still
        rejected after one refresh), Busy (-1), RateLimited/QuotaExceeded, TransportError or AccessTokenUnavailable.
        `wechat.errors.is_transient` tells which of these are worth a later retry.
        """
        body = subscribe_body(openid, template_id, data, page, miniprogram_state, lang)

        async def call(token: str) -> None:
            await self.http.request("POST", SEND_PATH, params={"access_token": token}, body=body)

        await self.tokens.with_token(call)
        log.info("wechat_subscribe_message_sent", appid=self.tokens.appid, template_id=template_id,
                 fields=len(data))
