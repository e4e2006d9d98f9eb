"""Staff sign-in (password, then SMS code), token refresh, and the signed-in staff member's own account and
password (the only two things an account may touch before its initial password is changed)."""

from __future__ import annotations

from accounts import errors as AE
from accounts.scopes import Action, authorize
from core import errors as E
from mobile_api.base import BaseHandler
from mobile_api.handlers.staff_models import (
    StaffChallengeOut,
    StaffLoginIn,
    StaffOut,
    StaffPasswordChangedOut,
    StaffPasswordIn,
    StaffRefreshIn,
    StaffTokenOut,
    StaffVerifyIn,
)
from mobile_api.openapi import operation

TAGS = ["工作人员登录"]


class StaffLoginHandler(BaseHandler):
    @operation(
        summary="工作人员登录第一步：用户名和密码（正确后向本人手机发送验证码）", tags=TAGS, request=StaffLoginIn,
        response=StaffChallengeOut, status=202,
        errors=(AE.STAFF_LOGIN_FAILED, AE.STAFF_LOGIN_LOCKED, AE.ACCOUNT_DISABLED, AE.SMS_RESEND_TOO_SOON,
                AE.SMS_DAILY_LIMIT, AE.SMS_UNAVAILABLE),
        description="用户名或密码错误统一返回 STAFF_LOGIN_FAILED（不透露用户名是否存在）；连续 5 次错误锁定 15 分钟。"
        "成功时返回 ticket，5 分钟内与短信验证码一起提交到 /api/v1/staff/login/verify。",
    )
    async def post(self) -> None:
        body = self.parse(StaffLoginIn)
        challenge = await self.deps.staff_login.start(body.username, body.password, ip=self.request.remote_ip)
        self.send(StaffChallengeOut.of(challenge), status=202)


class StaffLoginVerifyHandler(BaseHandler):
    @operation(
        summary="工作人员登录第二步：提交短信验证码，换取登录凭证", tags=TAGS, request=StaffVerifyIn,
        response=StaffTokenOut,
        errors=(AE.STAFF_LOGIN_TICKET_INVALID, AE.SMS_CODE_INVALID, AE.SMS_CODE_EXPIRED, AE.SMS_CODE_TOO_MANY_TRIES,
                AE.ACCOUNT_DISABLED),
        description="ticket 只能成功使用一次，最多尝试 5 次；access_token 的角色即工作人员角色。",
    )
    async def post(self) -> None:
        body = self.parse(StaffVerifyIn)
        result = await self.deps.staff_login.verify(body.ticket, body.code, device=self.device,
                                                    ip=self.request.remote_ip)
        self.send(StaffTokenOut.of(result))


class StaffRefreshHandler(BaseHandler):
    @operation(
        summary="工作人员换新登录凭证（refresh_token 每次轮换）", tags=TAGS, request=StaffRefreshIn,
        response=StaffTokenOut,
        errors=(AE.TOKEN_INVALID, AE.TOKEN_EXPIRED, AE.SESSION_REVOKED, AE.REFRESH_TOKEN_REUSED, AE.ACCOUNT_DISABLED),
        description="只接受工作人员的 refresh_token；居民的 refresh_token 请用 /api/v1/auth/refresh。",
    )
    async def post(self) -> None:
        body = self.parse(StaffRefreshIn)
        self.send(StaffTokenOut.of(await self.deps.staff_login.refresh(body.refresh_token)))


class StaffMeHandler(BaseHandler):
    allowed_before_password_change = frozenset({"GET"})

    @operation(summary="我的工作人员账号（部门、辖区、角色）", tags=TAGS, response=StaffOut, auth=True,
               errors=(AE.STAFF_ONLY, AE.ACCOUNT_DISABLED),
               description="`must_change_password` 为 true 时，除本接口、修改密码和退出登录外，其他接口均返回 403 "
               "PASSWORD_CHANGE_REQUIRED。")
    async def get(self) -> None:
        account = await self.staff_account()
        authorize(account.actor(), Action.READ, account.resource())
        self.send(StaffOut.of(account))


class StaffPasswordHandler(BaseHandler):
    allowed_before_password_change = frozenset({"POST"})

    @operation(
        summary="工作人员修改密码（首次登录必须先修改初始密码）", tags=TAGS, request=StaffPasswordIn,
        response=StaffPasswordChangedOut, auth=True,
        errors=(AE.STAFF_ONLY, AE.ACCOUNT_DISABLED, AE.STAFF_OLD_PASSWORD_WRONG, AE.PASSWORD_TOO_WEAK,
                AE.STAFF_LOGIN_LOCKED, E.CONFLICT),
        description="新密码规则与初始密码相同，且不能与原密码相同；不符合时 422 PASSWORD_TOO_WEAK，errors 中逐条列出 "
        "`new_password` 违反的规则。原密码错误计入登录失败次数（连续 5 次锁定 15 分钟）。"
        "修改成功后，本账号在其他设备上的登录全部结束，本设备保持登录。",
    )
    async def post(self) -> None:
        account = await self.staff_account()
        body = self.parse(StaffPasswordIn)
        changed = await self.deps.staff_password.change(await self.principal(), account, body.old_password,
                                                        body.new_password, ip=self.request.remote_ip)
        self.send(StaffPasswordChangedOut(staff=StaffOut.of(changed.account), ended_sessions=changed.ended_sessions))
