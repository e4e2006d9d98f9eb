"""Staff endpoints of the catalogue: create a matter, edit its draft, submit, publish, withdraw.

Each request reads the caller's staff account fresh (`BaseHandler.staff_account`: a resident's token is refused
with 403 STAFF_ONLY before anything is loaded) and hands its actor to `affairs.matters.MatterAdmin`, which
decides (only department admins of the matter's own department) and audits. The transitions are keyed by the
matter's code and state, so a retried POST changes nothing twice: it answers 409 MATTER_STATE_CONFLICT saying
which state the matter is already in.
"""

from __future__ import annotations

from accounts import errors as AE
from affairs import errors as AF
from affairs.matter_model import MatterCreate, MatterGuide
from core import errors as E
from mobile_api.base import BaseHandler
from mobile_api.handlers.catalogue_models import MatterAdminOut
from mobile_api.openapi import operation

TAGS = ["事项管理"]
ACCESS_ERRORS = (AE.STAFF_ONLY, AE.ACCOUNT_DISABLED, E.FORBIDDEN)
RULES = ("只有事项实施部门的部门管理员（dept_admin）可以操作，其他人返回 403。")


class AdminMattersHandler(BaseHandler):
    @operation(
        summary="新建事项（第 1 版草稿）", tags=TAGS, request=MatterCreate, response=MatterAdminOut, status=201,
        auth=True, errors=(*ACCESS_ERRORS, AF.MATTER_CODE_TAKEN),
        description=RULES + "每个有误的字段都会在 422 的 errors 中列出：未知的部门或区划、区划不在部门辖区内、"
        "未知的电子证照类型、不是有效 JSON Schema 的表单、时限 ≤ 0 或承诺时限超过法定时限、带小数的收费金额等。",
    )
    async def post(self) -> None:
        account = await self.staff_account()
        doc = await self.deps.catalogue.admin.create(account.actor(), self.json_body())
        self.send(MatterAdminOut.of(doc), status=201)


class AdminMatterHandler(BaseHandler):
    @operation(summary="查看事项（含草稿和状态）", tags=TAGS, response=MatterAdminOut, auth=True,
               errors=(*ACCESS_ERRORS, AF.MATTER_NOT_FOUND), description=RULES)
    async def get(self, code: str) -> None:
        account = await self.staff_account()
        self.send(MatterAdminOut.of(await self.deps.catalogue.admin.get(account.actor(), code)))


class AdminMatterDraftHandler(BaseHandler):
    @operation(
        summary="修改事项草稿（发布后修改即开始下一版本）", tags=TAGS, request=MatterGuide, response=MatterAdminOut,
        auth=True, errors=(*ACCESS_ERRORS, AF.MATTER_NOT_FOUND, AF.MATTER_STATE_CONFLICT, E.CONFLICT),
        description=RULES + "提交整份指南（替换草稿）。修改审核中的草稿会使其退回草稿状态，需重新提交审核。"
        "已发布版本不受影响，直到新版本发布。实施部门不能更改。",
    )
    async def put(self, code: str) -> None:
        account = await self.staff_account()
        doc = await self.deps.catalogue.admin.edit(account.actor(), code, self.json_body())
        self.send(MatterAdminOut.of(doc))


_TRANSITION_ERRORS = (*ACCESS_ERRORS, AF.MATTER_NOT_FOUND, AF.MATTER_STATE_CONFLICT, E.CONFLICT)


class AdminMatterSubmitHandler(BaseHandler):
    @operation(summary="提交审核", tags=TAGS, response=MatterAdminOut, auth=True, errors=_TRANSITION_ERRORS,
               description=RULES + "草稿 → 审核中。")
    async def post(self, code: str) -> None:
        account = await self.staff_account()
        self.send(MatterAdminOut.of(await self.deps.catalogue.admin.submit(account.actor(), code)))


class AdminMatterPublishHandler(BaseHandler):
    @operation(summary="发布（生成不可更改的新版本）", tags=TAGS, response=MatterAdminOut, auth=True,
               errors=_TRANSITION_ERRORS,
               description=RULES + "审核中 → 已发布。生成版本号为草稿版本的发布版本，此后永不改变；"
               "办事指南、列表和搜索立即使用新版本（其他服务进程至多 10 秒后）。")
    async def post(self, code: str) -> None:
        account = await self.staff_account()
        self.send(MatterAdminOut.of(await self.deps.catalogue.admin.publish(account.actor(), code)))


class AdminMatterWithdrawHandler(BaseHandler):
    @operation(summary="撤回（不再对外展示）", tags=TAGS, response=MatterAdminOut, auth=True,
               errors=_TRANSITION_ERRORS,
               description=RULES + "已发布 → 已撤回：从列表、搜索和办事指南中移除；已发布的各版本仍可按版本号读取。"
               "重新上线需修改草稿、提交审核并发布新版本。")
    async def post(self, code: str) -> None:
        account = await self.staff_account()
        self.send(MatterAdminOut.of(await self.deps.catalogue.admin.withdraw(account.actor(), code)))
