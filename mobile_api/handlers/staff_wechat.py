"""Staff WeChat: bind the mini-program WeChat once (after password + SMS login), unbind, and log in with it.
Why a WeChat login needs no SMS code: see accounts/staff_wechat.py."""

from __future__ import annotations

from accounts import errors as AE
from mobile_api.base import BaseHandler
from mobile_api.handlers.auth import LOGIN_ERRORS
from mobile_api.handlers.staff_models import StaffOut, StaffTokenOut, StaffWeChatCodeIn, StaffWeChatUnboundOut
from mobile_api.openapi import operation

TAGS = ["工作人员登录"]
SIGNED_IN_ERRORS = (AE.STAFF_ONLY, AE.ACCOUNT_DISABLED, AE.PASSWORD_CHANGE_REQUIRED)


class StaffWeChatBindHandler(BaseHandler):
    @operation(
        summary="工作人员绑定微信（绑定后可用微信直接登录）", tags=TAGS, request=StaffWeChatCodeIn, response=StaffOut,
        auth=True,
        errors=(*SIGNED_IN_ERRORS, AE.STAFF_WECHAT_BIND_NEEDS_SMS, AE.STAFF_WECHAT_NOT_ALLOWED, AE.STAFF_WECHAT_TAKEN,
                AE.STAFF_WECHAT_ALREADY_BOUND, *LOGIN_ERRORS),
        description="须用“用户名 + 密码 + 短信验证码”登录后的凭证绑定（微信登录的凭证不能绑定）。"
        "一个微信只能绑定一个工作人员账号（409 STAFF_WECHAT_TAKEN）；已绑定其他微信时须先解除绑定；"
        "重复绑定同一个微信返回当前状态。系统管理员账号不能绑定微信。",
    )
    async def post(self) -> None:
        account = await self.staff_account()
        body = self.parse(StaffWeChatCodeIn)
        bound = await self.deps.staff_wechat.bind(await self.principal(), account, body.code,
                                                  ip=self.request.remote_ip)
        self.send(StaffOut.of(bound))


class StaffWeChatHandler(BaseHandler):
    @operation(
        summary="工作人员解除微信绑定（并结束所有微信登录）", tags=TAGS, response=StaffWeChatUnboundOut, auth=True,
        errors=SIGNED_IN_ERRORS,
        description="幂等：未绑定时返回当前状态。通过微信登录的所有会话立即结束（包括本次请求所用的，如果它是微信登录的）。",
    )
    async def delete(self) -> None:
        account = await self.staff_account()
        result = await self.deps.staff_wechat.unbind(account, ip=self.request.remote_ip)
        self.send(StaffWeChatUnboundOut(staff=StaffOut.of(result.account), ended_sessions=result.ended_sessions))


class StaffWeChatLoginHandler(BaseHandler):
    @operation(
        summary="工作人员微信登录：用小程序 wx.login() 的 code 换取工作人员登录凭证", tags=TAGS,
        request=StaffWeChatCodeIn, response=StaffTokenOut,
        errors=(AE.STAFF_WECHAT_NOT_BOUND, AE.STAFF_WECHAT_NOT_ALLOWED, AE.STAFF_LOGIN_LOCKED, *LOGIN_ERRORS),
        description="只适用于已绑定微信的账号，无需短信验证码；未绑定返回 401 STAFF_WECHAT_NOT_BOUND"
        "（请先用用户名、密码和短信验证码登录，再绑定微信）。已停用、已锁定的账号和系统管理员账号不能用微信登录。",
    )
    async def post(self) -> None:
        body = self.parse(StaffWeChatCodeIn)
        result = await self.deps.staff_wechat.login(body.code, device=self.device, ip=self.request.remote_ip)
        self.send(StaffTokenOut.of(result))
