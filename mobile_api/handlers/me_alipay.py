"""Alipay login for payments (支付宝授权): the signed-in person links their Alipay identity with the auth code of
`my.getAuthCode`, or forgets it. The identity itself is never answered (payments/alipay_login.py)."""

from __future__ import annotations

from pydantic import Field

from accounts import errors as AE
from mobile_api.base import BaseHandler
from mobile_api.handlers.accounts_models import PersonOut, Strict
from mobile_api.openapi import operation
from mobile_api.routing import route
from payments import order_errors as OE

TAGS = ["我的"]


class AlipayLinkIn(Strict):
    auth_code: str = Field(min_length=1, max_length=64,
                           description="支付宝小程序 `my.getAuthCode({scopes: 'auth_base'})` 返回的 authCode，只能用一次",
                           examples=["4b203fe6c11548bcabd8da5bb087a83b"])


class AlipayHandler(BaseHandler):
    @operation(
        summary="支付宝授权：关联本人支付宝账号", tags=TAGS, request=AlipayLinkIn, response=PersonOut, auth=True,
        errors=(AE.RESIDENT_ONLY, AE.ACCOUNT_DISABLED, OE.ALIPAY_CODE_INVALID, OE.ALIPAY_TAKEN,
                OE.ALIPAY_UNAVAILABLE),
        description="服务端用 authCode 调用 alipay.system.oauth.token 换取支付宝用户标识（open_id 或 user_id）并保存在账号上；"
        "之后支付宝小程序支付（alipay_mode 为 mini）即由该支付宝账号付款。重复提交同一账号返回当前结果；换一个支付宝账号即替换。"
        "该支付宝账号已关联其他账号时返回 409。",
    )
    async def post(self) -> None:
        principal = await self.resident()
        body = self.parse(AlipayLinkIn)
        person = await self.deps.payments.alipay_accounts.link(principal.person_id, body.auth_code)
        self.send(PersonOut.of(person))

    @operation(summary="解除关联支付宝账号", tags=TAGS, response=PersonOut, auth=True,
               errors=(AE.RESIDENT_ONLY, AE.ACCOUNT_DISABLED))
    async def delete(self) -> None:
        principal = await self.resident()
        self.send(PersonOut.of(await self.deps.payments.alipay_accounts.unlink(principal.person_id)))


ROUTES = [route("/api/v1/me/alipay", AlipayHandler)]
