"""SMS-code login: ask for a code for a phone, then log in with it (an account is created on first login)."""

from __future__ import annotations

from accounts import errors as AE
from accounts.phone import PhoneInvalid, parse_cn_mobile, phone_app_error
from mobile_api.base import BaseHandler
from mobile_api.handlers.accounts_models import SmsCodeIn, SmsCodeOut, SmsLoginIn, TokenOut
from mobile_api.openapi import operation

TAGS = ["登录"]
ISSUE_ERRORS = (AE.PHONE_INVALID, AE.SMS_RESEND_TOO_SOON, AE.SMS_DAILY_LIMIT, AE.SMS_UNAVAILABLE)
CODE_ERRORS = (AE.PHONE_INVALID, AE.SMS_CODE_INVALID, AE.SMS_CODE_EXPIRED, AE.SMS_CODE_TOO_MANY_TRIES)


def e164_or_422(raw: str) -> str:
    """The E.164 form of a mainland mobile number, or 422 PHONE_INVALID naming the rule for field `phone`."""
    try:
        return parse_cn_mobile(raw).e164
    except PhoneInvalid as exc:
        raise phone_app_error(exc) from None


class SmsCodeHandler(BaseHandler):
    @operation(
        summary="获取短信登录验证码", tags=TAGS, request=SmsCodeIn, response=SmsCodeOut, status=202,
        errors=ISSUE_ERRORS,
        description="验证码 6 位，5 分钟内有效，只能用一次；同一手机号 60 秒内只能获取一次（429 带 Retry-After），"
        "每个手机号、每个网络地址每天有次数上限。无论该手机号是否已注册，回答都相同。",
    )
    async def post(self) -> None:
        body = self.parse(SmsCodeIn)
        result = await self.deps.sms_codes.issue(e164_or_422(body.phone), purpose="login", ip=self.request.remote_ip)
        self.send(SmsCodeOut(resend_after_s=result.resend_after_s, expires_in_s=result.expires_in_s), status=202)


class SmsLoginHandler(BaseHandler):
    @operation(
        summary="短信验证码登录", tags=TAGS, request=SmsLoginIn, response=TokenOut,
        errors=(*CODE_ERRORS, AE.ACCOUNT_DISABLED),
        description="首次登录自动建号（L1）。已用微信登录的账号不会按手机号自动合并：请在“我的”中验证手机号。"
        "验证码输错 5 次即作废，需重新获取。",
    )
    async def post(self) -> None:
        body = self.parse(SmsLoginIn)
        result = await self.deps.identity.login_sms(
            e164_or_422(body.phone), body.code, device=self.device, ip=self.request.remote_ip
        )
        self.send(TokenOut.of(result))
