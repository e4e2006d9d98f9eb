"""Staff administration: create, list, disable, assign roles. Who may do what is decided in accounts.scopes."""

from __future__ import annotations

from accounts import errors as AE
from accounts.phone import parse_cn_mobile
from accounts.staff import NewStaff
from core import errors as E
from core.errors import AppError, FieldError
from core.ids import is_id
from mobile_api.base import BaseHandler
from mobile_api.handlers.staff_models import (
    StaffCreateIn,
    StaffDisabledOut,
    StaffListOut,
    StaffOut,
    StaffRolesIn,
)
from mobile_api.openapi import operation

TAGS = ["工作人员管理"]
ACCESS_ERRORS = (AE.STAFF_ONLY, AE.ACCOUNT_DISABLED, AE.PASSWORD_CHANGE_REQUIRED, E.FORBIDDEN)
MAX_PAGE = 100


class AdminStaffHandler(BaseHandler):
    @operation(
        summary="工作人员列表（本人权限范围内）", tags=TAGS, response=StaffListOut, auth=True, errors=ACCESS_ERRORS,
        description="系统管理员看全部；部门管理员看本部门、本辖区；电子监察看本辖区。"
        "分页：`?limit=`（1–100，默认 50）与上一页返回的 `?after=`。",
    )
    async def get(self) -> None:
        account = await self.staff_account()
        after = self.get_query_argument("after", None) or None
        raw_limit = self.get_query_argument("limit", "50")
        problems = []
        if after is not None and not is_id(after):
            problems.append(FieldError("after", "INVALID_CURSOR", "分页参数无效"))
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_PAGE:
            problems.append(FieldError("limit", "LESS_THAN_EQUAL", f"须为 1–{MAX_PAGE} 的整数"))
        if problems:
            raise AppError(E.VALIDATION_FAILED, errors=problems)
        limit = int(raw_limit)
        accounts = await self.deps.staff_admin.list(account.actor(), after=after, limit=limit)
        next_after = accounts[-1].id if len(accounts) == limit else None
        self.send(StaffListOut(staff=[StaffOut.of(a) for a in accounts], next_after=next_after))

    @operation(
        summary="新建工作人员账号", tags=TAGS, request=StaffCreateIn, response=StaffOut, status=201, auth=True,
        errors=(*ACCESS_ERRORS, AE.STAFF_USERNAME_TAKEN, AE.PASSWORD_TOO_WEAK, E.CONFLICT),
        description="系统管理员可在任何部门、辖区建号并授予任何角色；部门管理员只能在本部门、本辖区建号，且只能授予 "
        "staff、school_finance。用户名唯一：重复提交返回 409 STAFF_USERNAME_TAKEN，不会建出第二个账号。"
        "手机号加密保存，仅返回脱敏值；初始密码须在首次登录后修改。",
    )
    async def post(self) -> None:
        account = await self.staff_account()
        body = self.parse(StaffCreateIn)
        new = NewStaff(
            username=body.username, display_name=body.display_name, mobile=parse_cn_mobile(body.mobile),
            department_id=body.department_id, department_name=body.department_name, region_code=body.region_code,
            level=body.level.value, roles=tuple(body.roles),
        )
        created = await self.deps.staff_admin.create(account.actor(), new, initial_password=body.initial_password,
                                                     ip=self.request.remote_ip)
        self.send(StaffOut.of(created), status=201)


class AdminStaffDisableHandler(BaseHandler):
    @operation(
        summary="停用工作人员账号（立即结束其全部登录）", tags=TAGS, response=StaffDisabledOut, auth=True,
        errors=(*ACCESS_ERRORS, AE.STAFF_NOT_FOUND),
        description="重复停用返回当前状态（幂等）。不能停用自己；部门管理员不能停用管理员或电子监察账号。",
    )
    async def post(self, staff_id: str) -> None:
        account = await self.staff_account()
        target, ended = await self.deps.staff_admin.disable(account.actor(), staff_id, ip=self.request.remote_ip)
        self.send(StaffDisabledOut(staff=StaffOut.of(target), ended_sessions=ended))


class AdminStaffRolesHandler(BaseHandler):
    @operation(
        summary="设置工作人员的角色（整体替换）", tags=TAGS, request=StaffRolesIn, response=StaffOut, auth=True,
        errors=(*ACCESS_ERRORS, AE.STAFF_NOT_FOUND, E.CONFLICT),
        description="不能修改自己的角色；部门管理员只能授予 staff、school_finance。并发修改返回 409 CONFLICT，请刷新后重试。",
    )
    async def put(self, staff_id: str) -> None:
        account = await self.staff_account()
        body = self.parse(StaffRolesIn)
        updated = await self.deps.staff_admin.set_roles(account.actor(), staff_id, body.roles,
                                                        ip=self.request.remote_ip)
        self.send(StaffOut.of(updated))
