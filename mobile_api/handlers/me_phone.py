"""Verify my phone: the signed-in person proves a mobile number by SMS code and keeps it on their account."""

from __future__ import annotations

from accounts import errors as AE
from mobile_api.base import BaseHandler
from mobile_api.handlers.accounts_models import PersonOut, PhoneVerifyIn, SmsCodeIn, SmsCodeOut
from mobile_api.handlers.auth_sms import CODE_ERRORS, ISSUE_ERRORS, e164_or_422
from mobile_api.openapi import operation

TAGS = ["我的"]


class PhoneCodeHandler(BaseHandler):
    @operation(
        summary="获取验证手机号的短信验证码", tags=TAGS, request=SmsCodeIn, response=SmsCodeOut, status=202, auth=True,
        errors=(*ISSUE_ERRORS, AE.RESIDENT_ONLY),
    )
    async def post(self) -> None:
        await self.resident()
        body = self.parse(SmsCodeIn)
        result = await self.deps.sms_codes.issue(e164_or_422(body.phone), purpose="bind_phone",
                                                 ip=self.request.remote_ip)
        self.send(SmsCodeOut(resend_after_s=result.resend_after_s, expires_in_s=result.expires_in_s), status=202)


class PhoneHandler(BaseHandler):
    @operation(
        summary="验证并绑定本人手机号", tags=TAGS, request=PhoneVerifyIn, response=PersonOut, auth=True,
        errors=(*CODE_ERRORS, AE.PHONE_TAKEN, AE.RESIDENT_ONLY, AE.ACCOUNT_DISABLED),
        description="验证通过后账号至少为 L1；再次提交同一号码返回当前结果；换号即以新号码替换旧号码。"
        "号码已属于其他账号时返回 409，并通知该账号。",
    )
    async def put(self) -> None:
        principal = await self.resident()
        body = self.parse(PhoneVerifyIn)
        person = await self.deps.identity.verify_phone(principal.person_id, e164_or_422(body.phone), body.code)
        self.send(PersonOut.of(person))
