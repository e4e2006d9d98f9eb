"""Request and response models of the login and "me" endpoints (what the OpenAPI document shows)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from accounts.identity import LoginResult
from accounts.people import Person
from accounts.sessions import SessionView


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class MiniProgramLoginIn(Strict):
    code: str = Field(min_length=1, max_length=128, description="`wx.login()` 返回的 code，只能用一次",
                      examples=["0a3Xk1Ga1yQmZH0fNrIa1F0Zxn3Xk1GH"])


class OfficialAccountAuthorizeIn(Strict):
    redirect_uri: str = Field(max_length=512, description="授权后回到的 H5 页面，须在本站域名下",
                              examples=["http://127.0.0.1:8080/h5/login"])
    scope: Literal["snsapi_base", "snsapi_userinfo"] = "snsapi_base"


class OfficialAccountAuthorizeOut(BaseModel):
    url: str = Field(description="让浏览器跳转到这个地址")
    state: str


class OfficialAccountLoginIn(Strict):
    code: str = Field(min_length=1, max_length=128)
    state: str = Field(min_length=1, max_length=64)


class RefreshIn(Strict):
    refresh_token: str = Field(min_length=1, max_length=128)


class CitizenIdIn(Strict):
    name: str = Field(min_length=2, max_length=30, description="身份证上的姓名", examples=["张三"])
    id_number: str = Field(min_length=15, max_length=24, description="18 位居民身份证号码，末位 X 大小写均可",
                           examples=["43012419900307777X"])


class CitizenIdOut(BaseModel):
    masked: str = Field(examples=["430124********777X"])
    region_code: str = Field(description="户籍地行政区划代码（GB/T 2260）")
    verified_at: datetime


class PersonOut(BaseModel):
    id: str
    level: Literal["L0", "L1", "L2"] = Field(description="L0 仅微信登录；L1 已验证手机号；L2 已实名认证")
    name: str | None
    phone: str | None = Field(description="脱敏手机号", examples=["138****5678"])
    citizen_id: CitizenIdOut | None
    roles: list[str]
    wechat_miniprogram: bool
    wechat_official_account: bool
    alipay: bool = Field(False, description="已通过支付宝授权关联支付宝账号（支付宝小程序支付用它付款）")

    @classmethod
    def of(cls, person: Person) -> PersonOut:
        cid = person.citizen_id
        return cls(
            id=person.id, level=person.level.value, name=person.name, phone=person.phone_masked,
            citizen_id=CitizenIdOut(masked=cid.masked, region_code=cid.region_code, verified_at=cid.verified_at)
            if cid else None,
            roles=list(person.roles), wechat_miniprogram=bool(person.mp_openid),
            wechat_official_account=bool(person.oa_openid),
            alipay=bool(person.alipay_open_id or person.alipay_user_id),
        )


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int = Field(description="access_token 有效秒数")
    refresh_token: str = Field(description="只显示这一次；每次换新后旧的作废，重复使用会注销该设备的登录")
    refresh_expires_at: datetime
    new_account: bool
    person: PersonOut

    @classmethod
    def of(cls, result: LoginResult) -> TokenOut:
        return cls(
            access_token=result.access_token, expires_in=result.expires_in,
            refresh_token=result.grant.refresh_token, refresh_expires_at=result.grant.refresh_expires_at,
            new_account=result.created, person=PersonOut.of(result.person),
        )


class SessionOut(BaseModel):
    session_id: str
    device: str
    created_at: datetime
    last_seen_at: datetime
    current: bool

    @classmethod
    def of(cls, view: SessionView) -> SessionOut:
        return cls(session_id=view.session_id, device=view.device, created_at=view.created_at,
                   last_seen_at=view.last_seen_at, current=view.current)


class SessionsOut(BaseModel):
    sessions: list[SessionOut]


class LoggedOutOut(BaseModel):
    ended_sessions: int


# -- SMS login and "verify my phone" ------------------------------------------------------------------------
class SmsCodeIn(Strict):
    phone: str = Field(min_length=1, max_length=32, description="中国大陆手机号，可带 +86", examples=["13800000001"])


class SmsCodeOut(BaseModel):
    resend_after_s: int = Field(description="多少秒后才能重新获取", examples=[60])
    expires_in_s: int = Field(description="验证码有效秒数；重新获取后，之前的验证码作废", examples=[300])


class SmsLoginIn(Strict):
    phone: str = Field(min_length=1, max_length=32, description="中国大陆手机号，可带 +86", examples=["13800000001"])
    code: str = Field(min_length=1, max_length=12, description="短信验证码（6 位数字）", examples=["123456"])


class PhoneVerifyIn(SmsLoginIn):
    """The same fields as the SMS login: the phone and the code just sent to it."""
