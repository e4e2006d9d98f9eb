"""Ratings of service (好差评): the applicant rates an ended case; its department answers a 差评 (整改).

Residents: someone else's case is 404 RESOURCE_NOT_FOUND, like a missing one. Staff: the scope check
(accounts/scopes.py) lets a department's staff list and answer their department's ratings inside their region
subtree, and supervisors read them; anyone else gets 403 FORBIDDEN. Rules live in affairs/ratings.py.
"""

from __future__ import annotations

from accounts import errors as AE
from affairs import rating_errors as RE
from affairs.rating_inputs import FollowUpIn, RatingIn
from core import errors as E
from core.errors import AppError, FieldError
from mobile_api.base import BaseHandler
from mobile_api.handlers.cases import page_limit
from mobile_api.handlers.ratings_models import RatingListOut, RatingOut, RatingStatusOut, RatingSummaryOut
from mobile_api.handlers.school_parents import person_actor
from mobile_api.openapi import operation
from mobile_api.routing import route

TAGS = ["办件评价（好差评）"]
STAFF_TAGS = ["好差评（工作人员）"]
OWN = (AE.RESIDENT_ONLY, AE.RESOURCE_NOT_FOUND)
ACCESS = (AE.STAFF_ONLY, AE.ACCOUNT_DISABLED, E.FORBIDDEN)


class CaseRatingHandler(BaseHandler):
    @operation(summary="我的办件评价（能否评价、截止时间、部门答复）", tags=TAGS, response=RatingStatusOut,
               auth=True, errors=OWN)
    async def get(self, case_id: str) -> None:
        principal = await self.resident()
        self.send(RatingStatusOut.model_validate(
            await self.deps.ratings.status(person_actor(principal), case_id)))

    @operation(summary="评价办件（好差评）", tags=TAGS, request=RatingIn, response=RatingStatusOut, auth=True,
               errors=(*OWN, RE.RATING_NOT_OPEN, RE.RATING_WINDOW_CLOSED, RE.RATING_ALREADY_GIVEN,
                       E.VALIDATION_FAILED),
               description="办结、不予许可或不予受理后可评价，期限见 rate_until。每件只评一次：重复提交相同的评价"
               "返回相同结果；不同的评价返回 409 和已有的评价（rating）。不满意（1–2）须写明原因，由实施部门回访整改。")
    async def put(self, case_id: str) -> None:
        principal = await self.resident()
        body = self.parse(RatingIn)
        self.send(RatingStatusOut.model_validate(
            await self.deps.ratings.rate(person_actor(principal), case_id, body)))


def _levels(handler: BaseHandler) -> list[int]:
    raw = [part for part in (handler.get_query_argument("level", None) or "").split(",") if part]
    if any(part not in {"1", "2", "3", "4", "5"} for part in raw):
        raise AppError(E.VALIDATION_FAILED, errors=[FieldError("level", "UNKNOWN_LEVEL", "等级须为 1 到 5，可用逗号分隔多个")])
    return [int(part) for part in raw]


def _flag(handler: BaseHandler, name: str) -> bool | None:
    raw = handler.get_query_argument(name, None)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise AppError(E.VALIDATION_FAILED, errors=[FieldError(name, "NOT_A_FLAG", "须为 true 或 false")])
    return raw == "true"


class StaffRatingsHandler(BaseHandler):
    @operation(summary="本部门收到的评价", tags=STAFF_TAGS, response=RatingListOut, auth=True,
               errors=(*ACCESS, E.VALIDATION_FAILED),
               query=(("level", "按等级筛选，如 1,2（差评）"), ("needs_follow_up", "true 只看待回访整改的差评"),
                      ("department_code", "部门（电子监察人员可选；工作人员只能是本部门）"),
                      ("cursor", "翻页标记"), ("limit", "每页条数，1-50")),
               description="最新的在前。工作人员看本部门、本辖区的评价；电子监察人员看辖区内全部部门。")
    async def get(self) -> None:
        account = await self.staff_account()
        page = await self.deps.ratings.page(
            account.actor(), levels=_levels(self), needs_follow_up=_flag(self, "needs_follow_up"),
            department_code=self.get_query_argument("department_code", None) or None,
            cursor=self.get_query_argument("cursor", None), limit=page_limit(self))
        self.send(RatingListOut.model_validate(page))


class StaffRatingFollowUpHandler(BaseHandler):
    @operation(summary="登记差评的回访整改", tags=STAFF_TAGS, request=FollowUpIn, response=RatingOut, auth=True,
               errors=(*ACCESS, RE.RATING_NOT_FOUND, RE.FOLLOW_UP_NOT_NEEDED, RE.FOLLOW_UP_ALREADY_RECORDED,
                       E.VALIDATION_FAILED),
               description="实施部门工作人员登记一次，申请人在办件评价中看到答复（显示部门，不显示个人）。"
               "重复提交相同内容返回相同结果；已登记后再登记不同内容返回 409 和已登记的答复。")
    async def post(self, rating_id: str) -> None:
        account = await self.staff_account()
        body = self.parse(FollowUpIn)
        self.send(RatingOut.model_validate(await self.deps.ratings.follow_up(account, rating_id, body)))


class StaffRatingSummaryHandler(BaseHandler):
    @operation(summary="好差评统计（各部门各等级数量、满意率）", tags=["电子监察"], response=RatingSummaryOut,
               auth=True, errors=ACCESS,
               description="满意率 = (非常满意 + 满意 + 基本满意) / 评价总数。电子监察人员看辖区内全部部门；"
               "工作人员看本部门。")
    async def get(self) -> None:
        account = await self.staff_account()
        self.send(RatingSummaryOut.model_validate(await self.deps.ratings.summary(account.actor())))


ROUTES = [
    route("/api/v1/cases/{case_id}/rating", CaseRatingHandler),
    route("/api/v1/staff/ratings", StaffRatingsHandler),
    route("/api/v1/staff/ratings/summary", StaffRatingSummaryHandler),
    route("/api/v1/staff/ratings/{rating_id}/follow-up", StaffRatingFollowUpHandler),
]
