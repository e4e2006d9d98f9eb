"""Request and response models of staff login and staff administration (what the OpenAPI document shows)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, ValidationInfo, field_validator

from accounts.passwords import MAX_LENGTH, password_problems
from accounts.phone import parse_cn_mobile
from accounts.regions import RegionCodeInvalid, region_prefix
from accounts.roles import StaffLevel, level_mismatch, normalise_staff_roles
from accounts.staff import USERNAME_RE, USERNAME_RULE, StaffAccount, normalise_username
from accounts.staff_login import StaffChallenge, StaffLoginResult
from mobile_api.handlers.accounts_models import Strict

ROLES_DESCRIPTION = ("工作人员角色，至少一个：staff 工作人员（办本部门本辖区的件）、dept_admin 部门管理员、school_finance 学校财务、"
                     "supervisor 电子监察（只读本辖区）、sysadmin 系统管理员（管账号，不看办件）")


class StaffLoginIn(Strict):
    username: str = Field(min_length=1, max_length=64, description="工作人员用户名（不区分大小写）",
                          examples=["liujianguo"])
    password: str = Field(min_length=1, max_length=MAX_LENGTH, description="密码", examples=["Zsb-demo-2024"])


class StaffChallengeOut(BaseModel):
    ticket: str = Field(description="登录凭据，5 分钟内与短信验证码一起提交，只能用一次")
    phone_masked: str = Field(description="验证码已发送到这个手机号（脱敏）", examples=["138****0001"])
    resend_after_s: int = Field(description="多少秒后可以重新获取验证码（重新提交用户名和密码）")
    expires_in: int = Field(description="ticket 有效秒数")

    @classmethod
    def of(cls, challenge: StaffChallenge) -> StaffChallengeOut:
        return cls(ticket=challenge.ticket, phone_masked=challenge.phone_masked,
                   resend_after_s=challenge.resend_after_s, expires_in=challenge.expires_in)


class StaffVerifyIn(Strict):
    ticket: str = Field(min_length=1, max_length=64, description="第一步返回的 ticket")
    code: str = Field(min_length=4, max_length=8, description="短信验证码", examples=["123456"])


class StaffRefreshIn(Strict):
    refresh_token: str = Field(min_length=1, max_length=128)


class StaffOut(BaseModel):
    id: str
    username: str
    display_name: str = Field(description="姓名", examples=["刘建国"])
    phone: str = Field(description="脱敏手机号", examples=["138****0001"])
    department_id: str
    department_name: str = Field(examples=["宁乡市政务服务中心"])
    region_code: str = Field(description="所在行政区划代码（GB/T 2260；乡镇 9 位，村社区 12 位）", examples=["430124"])
    level: StaffLevel = Field(description="city 市、district 区县、town 镇街、village 村社区")
    roles: list[str]
    disabled: bool
    wechat_bound: bool = Field(description="是否已绑定微信（绑定后可用微信登录）")
    must_change_password: bool = Field(description="是否仍在使用管理员设置的初始密码")
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, account: StaffAccount) -> StaffOut:
        return cls(
            id=account.id, username=account.username, display_name=account.display_name, phone=account.phone_masked,
            department_id=account.department_id, department_name=account.department_name,
            region_code=account.region_code, level=StaffLevel(account.level), roles=list(account.roles),
            disabled=account.disabled, wechat_bound=account.wechat_bound,
            must_change_password=account.must_change_password, created_at=account.created_at,
            last_login_at=account.last_login_at,
        )


class StaffTokenOut(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int = Field(description="access_token 有效秒数")
    refresh_token: str = Field(description="只显示这一次；用 /api/v1/staff/refresh 换新，旧的立即作废")
    refresh_expires_at: datetime
    staff: StaffOut

    @classmethod
    def of(cls, result: StaffLoginResult) -> StaffTokenOut:
        return cls(access_token=result.access_token, expires_in=result.expires_in,
                   refresh_token=result.grant.refresh_token, refresh_expires_at=result.grant.refresh_expires_at,
                   staff=StaffOut.of(result.account))


def _roles(value: list[str]) -> list[str]:
    return list(normalise_staff_roles(value))  # ValueError (Chinese) names an unknown or resident role


StaffRoles = Annotated[list[str], AfterValidator(_roles)]


class StaffCreateIn(Strict):
    username: str = Field(min_length=3, max_length=32, description="登录用户名：小写字母开头，3–32 位字母、数字、点、下划线或连字符",
                          examples=["liujianguo"])
    display_name: str = Field(min_length=1, max_length=30, description="姓名", examples=["刘建国"])
    mobile: str = Field(min_length=5, max_length=20, description="本人手机号，用于登录短信验证码（保存时加密）",
                        examples=["13800000001"])
    department_id: str = Field(min_length=1, max_length=64, description="部门编号", examples=["ningxiang-zwzx"])
    department_name: str = Field(min_length=1, max_length=60, description="部门名称", examples=["宁乡市政务服务中心"])
    region_code: str = Field(description="行政区划代码：市、区县 6 位，乡镇街道 9 位，村社区 12 位", examples=["430124"])
    level: StaffLevel = Field(description="city 市、district 区县、town 镇街、village 村社区", examples=["district"])
    roles: StaffRoles = Field(min_length=1, max_length=5, description=ROLES_DESCRIPTION, examples=[["staff"]])
    initial_password: str = Field(min_length=1, max_length=MAX_LENGTH,
                                  description="初始密码：至少 10 位，不能全是数字，不能包含用户名",
                                  examples=["Ningxiang-2024!"])

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        name = normalise_username(value)
        if not USERNAME_RE.fullmatch(name):
            raise ValueError(USERNAME_RULE)
        return name

    @field_validator("mobile")
    @classmethod
    def _mobile(cls, value: str) -> str:
        return parse_cn_mobile(value).e164  # PhoneInvalid is a ValueError with a Chinese sentence

    @field_validator("region_code")
    @classmethod
    def _region(cls, value: str) -> str:
        try:
            region_prefix(value)
        except RegionCodeInvalid as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("initial_password")
    @classmethod
    def _password(cls, value: str, info: ValidationInfo) -> str:
        problems = password_problems(value, username=str(info.data.get("username") or ""))
        if problems:
            raise ValueError("；".join(p.errmsg for p in problems))
        return value

    @field_validator("level")
    @classmethod
    def _level_fits_region(cls, value: StaffLevel, info: ValidationInfo) -> StaffLevel:
        region = info.data.get("region_code")
        problem = level_mismatch(value, region) if region else None
        if problem:
            raise ValueError(problem)
        return value


class StaffRolesIn(Strict):
    roles: StaffRoles = Field(min_length=1, max_length=5, description=ROLES_DESCRIPTION,
                              examples=[["staff", "school_finance"]])


class StaffListOut(BaseModel):
    staff: list[StaffOut]
    next_after: str | None = Field(description="还有更多时，下一页请求带 `?after=` 这个值")


class StaffDisabledOut(BaseModel):
    staff: StaffOut
    ended_sessions: int = Field(description="因停用而结束的登录会话数")


class StaffWeChatCodeIn(Strict):
    code: str = Field(min_length=1, max_length=128, description="工作人员手机上小程序 `wx.login()` 返回的 code，只能用一次",
                      examples=["0a3Xk1Ga1yQmZH0fNrIa1F0Zxn3Xk1GH"])


class StaffWeChatUnboundOut(BaseModel):
    staff: StaffOut
    ended_sessions: int = Field(description="因解除绑定而结束的微信登录会话数")


class StaffPasswordIn(Strict):
    old_password: str = Field(min_length=1, max_length=MAX_LENGTH, description="原密码（首次修改时即初始密码）",
                              examples=["Ningxiang-2024!"])
    new_password: str = Field(min_length=1, max_length=MAX_LENGTH,
                              description="新密码：至少 10 位，不能全是数字，不能包含用户名，不能与原密码相同",
                              examples=["Xiangjiang-2025#"])


class StaffPasswordChangedOut(BaseModel):
    staff: StaffOut
    ended_sessions: int = Field(description="因修改密码而结束的其他设备登录会话数（本设备保持登录）")
