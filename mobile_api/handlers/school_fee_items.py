"""Staff endpoints of fee items (收费项目): the school drafts and publishes, two departments review jointly.

Every step sends back the `revision` the caller read: a step based on an old read is 409 CONFLICT (reload and
look again), so a reviewer approves exactly the version they saw. A step the item's state does not allow is
409 FEE_ITEM_STATE_CONFLICT with `state` in the body. The rules: docs/school-fees.md.
"""

from __future__ import annotations

from accounts import errors as AE
from core import errors as E
from mobile_api.base import BaseHandler
from mobile_api.handlers.school_models import FeeItemOut, FeeItemsOut
from mobile_api.openapi import operation
from mobile_api.routing import route
from payments import fee_errors as FE
from payments.fee_item_model import FeeItemEditIn, FeeItemIn, FeeItemState, ReasonIn, RevisionIn

TAGS = ["学校收费"]
ACCESS_ERRORS = (AE.STAFF_ONLY, AE.ACCOUNT_DISABLED, E.FORBIDDEN)
STEP_ERRORS = (*ACCESS_ERRORS, FE.FEE_ITEM_NOT_FOUND, FE.FEE_ITEM_STATE_CONFLICT, E.CONFLICT)
SCHOOL_ONLY = "只有本校的学校财务（school_finance）可以操作。"
REVIEWERS = "只有该学校主管教育部门或价格主管部门的工作人员（staff）可以审核，各自给出本部门的意见。"


class SchoolFeeItemsHandler(BaseHandler):
    @operation(summary="新建收费项目（草稿）", tags=TAGS, request=FeeItemIn, response=FeeItemOut, status=201, auth=True,
               errors=(*ACCESS_ERRORS, FE.SCHOOL_NOT_FOUND),
               description=SCHOOL_ONLY + "金额为整数（分）；适用年级须是花名册中已有的年级，班级须是本校班级（至少选一个）；"
               "收费依据填写价格主管部门的批准文件。")
    async def post(self, school_id: str) -> None:
        account = await self.staff_account()
        item = await self.deps.school_fees.fee_items.create(account.actor(), school_id, self.parse(FeeItemIn))
        self.set_header("Location", f"/api/v1/fee-items/{item['_id']}")
        self.send(FeeItemOut.of(item), status=201)

    @operation(summary="学校的收费项目", tags=TAGS, response=FeeItemsOut, auth=True,
               errors=(*ACCESS_ERRORS, FE.SCHOOL_NOT_FOUND), query=(("state", "只看这个状态，如 under_review"),))
    async def get(self, school_id: str) -> None:
        account = await self.staff_account()
        state = self.get_query_argument("state", None)
        if state is not None and state not in set(FeeItemState):
            raise E.AppError(E.VALIDATION_FAILED, errors=[E.FieldError("state", "STATE_UNKNOWN", "没有这个状态")])
        items = await self.deps.school_fees.fee_items.of_school(account.actor(), school_id, [state] if state else None)
        self.send(FeeItemsOut(items=[FeeItemOut.of(i) for i in items]))


class AwaitingReviewHandler(BaseHandler):
    @operation(summary="待本部门审核的收费项目", tags=TAGS, response=FeeItemsOut, auth=True, errors=ACCESS_ERRORS,
               description=REVIEWERS + "列出联审中、本部门尚未给出意见的收费项目。")
    async def get(self) -> None:
        account = await self.staff_account()
        items = await self.deps.school_fees.fee_items.awaiting_review(account.actor())
        self.send(FeeItemsOut(items=[FeeItemOut.of(i) for i in items]))


class FeeItemHandler(BaseHandler):
    @operation(summary="查看收费项目（含两部门审核意见和账单生成进度）", tags=TAGS, response=FeeItemOut, auth=True,
               errors=(*ACCESS_ERRORS, FE.FEE_ITEM_NOT_FOUND))
    async def get(self, item_id: str) -> None:
        account = await self.staff_account()
        self.send(FeeItemOut.of(await self.deps.school_fees.fee_items.get(account.actor(), item_id)))

    @operation(summary="修改草稿", tags=TAGS, request=FeeItemEditIn, response=FeeItemOut, auth=True, errors=STEP_ERRORS,
               description=SCHOOL_ONLY + "只有草稿（新建的或被退回的）可以修改；提交整份内容和读取时的 revision。")
    async def put(self, item_id: str) -> None:
        account = await self.staff_account()
        body = self.parse(FeeItemEditIn)
        item = await self.deps.school_fees.fee_items.edit(account.actor(), item_id, body.revision, body)
        self.send(FeeItemOut.of(item))


class FeeItemSubmitHandler(BaseHandler):
    @operation(summary="提交联审", tags=TAGS, request=RevisionIn, response=FeeItemOut, auth=True, errors=STEP_ERRORS,
               description=SCHOOL_ONLY + "草稿 → 联审中：开始新一轮审核，教育部门和价格主管部门都须重新给出意见。")
    async def post(self, item_id: str) -> None:
        account = await self.staff_account()
        body = self.parse(RevisionIn)
        self.send(FeeItemOut.of(await self.deps.school_fees.fee_items.submit(account.actor(), item_id, body.revision)))


class FeeItemApproveHandler(BaseHandler):
    @operation(summary="审核通过（本部门意见）", tags=TAGS, request=RevisionIn, response=FeeItemOut, auth=True,
               errors=STEP_ERRORS, description=REVIEWERS + "两个部门都通过后，收费项目成为“已通过联审”，学校即可发布。")
    async def post(self, item_id: str) -> None:
        account = await self.staff_account()
        body = self.parse(RevisionIn)
        item = await self.deps.school_fees.fee_items.review(account.actor(), item_id, body.revision, approve=True)
        self.send(FeeItemOut.of(item))


class FeeItemRejectHandler(BaseHandler):
    @operation(summary="退回（须说明原因）", tags=TAGS, request=ReasonIn, response=FeeItemOut, auth=True,
               errors=STEP_ERRORS, description=REVIEWERS + "任一部门退回，收费项目即回到学校成为草稿，修改后重新提交。")
    async def post(self, item_id: str) -> None:
        account = await self.staff_account()
        body = self.parse(ReasonIn)
        item = await self.deps.school_fees.fee_items.review(account.actor(), item_id, body.revision, approve=False,
                                                            reason=body.reason)
        self.send(FeeItemOut.of(item))


class FeeItemPublishHandler(BaseHandler):
    @operation(summary="发布（生成账单）", tags=TAGS, request=RevisionIn, response=FeeItemOut, auth=True,
               errors=STEP_ERRORS,
               description=SCHOOL_ONLY + "已通过联审 → 已发布：为每名适用的学生生成一张账单（后台任务，进度见 bills），"
               "并通知已关联的家长。发布后不能修改，只能撤回。")
    async def post(self, item_id: str) -> None:
        account = await self.staff_account()
        body = self.parse(RevisionIn)
        item = await self.deps.school_fees.fee_items.publish_item(account.actor(), item_id, body.revision)
        self.send(FeeItemOut.of(item))


class FeeItemWithdrawHandler(BaseHandler):
    @operation(summary="撤回（取消未缴账单）", tags=TAGS, request=ReasonIn, response=FeeItemOut, auth=True,
               errors=STEP_ERRORS,
               description=SCHOOL_ONLY + "已发布或已通过联审 → 已撤回：所有未缴账单在同一事务中取消，并通知已关联的家长；"
               "已缴费的账单不受影响（退款另行办理）。")
    async def post(self, item_id: str) -> None:
        account = await self.staff_account()
        body = self.parse(ReasonIn)
        item = await self.deps.school_fees.fee_items.withdraw(account.actor(), item_id, body.revision, body.reason)
        self.send(FeeItemOut.of(item))


ROUTES = [
    route("/api/v1/schools/{school_id}/fee-items", SchoolFeeItemsHandler),
    route("/api/v1/fee-items/awaiting-review", AwaitingReviewHandler),
    route("/api/v1/fee-items/{item_id}", FeeItemHandler),
    route("/api/v1/fee-items/{item_id}/submit", FeeItemSubmitHandler),
    route("/api/v1/fee-items/{item_id}/approve", FeeItemApproveHandler),
    route("/api/v1/fee-items/{item_id}/reject", FeeItemRejectHandler),
    route("/api/v1/fee-items/{item_id}/publish", FeeItemPublishHandler),
    route("/api/v1/fee-items/{item_id}/withdraw", FeeItemWithdrawHandler),
]
