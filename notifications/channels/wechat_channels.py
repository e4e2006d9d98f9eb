"""The two WeChat channels of the pipeline, on the wechat adapter: mini-program subscribe messages (against a
grant) and official-account template messages (to followers, opening the mini-program).

WeChat's answer is final for these (no delivery report reaches us), so an accepted send counts as delivered.
A subscribe message first spends one of the person's grants (notifications/grants.py); a retry of the same
message does not spend another (`grant_taken`), and WeChat's 43101 empties our count. Template messages pass
our message id as `client_msg_id`, WeChat's own de-duplication key, so a retry after a lost answer cannot
send twice.
"""

from __future__ import annotations

from typing import Any

from accounts.people import ContactPoints
from notifications.channels.delivery_port import Accepted, DeliveryError
from notifications.grants import GrantRepository
from notifications.messages import MessageRepository
from notifications.states import Reason
from wechat import (
    InvalidOpenid,
    NotFollower,
    OfficialAccount,
    SubscribeMessages,
    SubscriptionRefused,
    WeChatError,
    is_transient,
)


def _failure(exc: WeChatError, provider: str) -> DeliveryError:
    code = str(exc.errcode) if exc.errcode is not None else type(exc).__name__
    if is_transient(exc):
        return DeliveryError(Reason.TRANSIENT, transient=True, code=code, detail=exc.errmsg, provider=provider)
    if isinstance(exc, SubscriptionRefused):
        reason = Reason.NO_GRANT
    elif isinstance(exc, NotFollower):
        reason = Reason.NOT_FOLLOWER
    elif isinstance(exc, InvalidOpenid):
        reason = Reason.BAD_ADDRESS
    else:  # template, data, page, token or credentials: this message will not go through as it is
        reason = Reason.REJECTED
    return DeliveryError(reason, transient=False, code=code, detail=exc.errmsg, provider=provider)


class SubscribeChannel:
    provider = "wechat_mp"

    def __init__(self, client: SubscribeMessages, grants: GrantRepository, messages: MessageRepository) -> None:
        self.client, self.grants, self.messages = client, grants, messages

    async def send(self, message: dict[str, Any], contact: ContactPoints) -> Accepted:
        content, recipient = message["content"], message["recipient"]
        if not contact.mp_openid:
            raise DeliveryError(Reason.NO_CHANNEL, transient=False, detail="no mini-program openid")
        key = (recipient["kind"], recipient["id"], content["template_id"])
        if not message.get("grant_taken"):
            if not await self.grants.take(*key):
                raise DeliveryError(Reason.NO_GRANT, transient=False, code="NO_LOCAL_GRANT",
                                    detail="the person has no subscription grant left for this template")
            await self.messages.set_grant_taken(message["_id"])
        try:
            await self.client.send_subscribe_message(contact.mp_openid, content["template_id"], content["data"],
                                                     content.get("page"))
        except WeChatError as exc:
            if isinstance(exc, SubscriptionRefused):
                await self.grants.exhausted(*key)
            raise _failure(exc, self.provider) from None
        return Accepted(self.provider, "", delivered=True)


class TemplateChannel:
    provider = "wechat_oa"

    def __init__(self, client: OfficialAccount, miniprogram_appid: str) -> None:
        self.client, self.appid = client, miniprogram_appid

    async def send(self, message: dict[str, Any], contact: ContactPoints) -> Accepted:
        content = message["content"]
        if not contact.oa_openid:
            raise DeliveryError(Reason.NO_CHANNEL, transient=False, detail="no official-account openid")
        page = content.get("page")
        try:
            msgid = await self.client.send_template_message(
                contact.oa_openid, content["template_id"], content["data"],
                miniprogram=(self.appid, page) if page else None, client_msg_id=message["_id"],
            )
        except WeChatError as exc:
            raise _failure(exc, self.provider) from None
        return Accepted(self.provider, str(msgid), delivered=True)
