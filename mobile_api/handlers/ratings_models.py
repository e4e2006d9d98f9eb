"""Response models of the rating endpoints (好差评; the OpenAPI document is built from them)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class FollowUpOut(BaseModel):
    outcome: str = Field(description="rectified 已整改 / explained 已解释说明")
    outcome_label: str
    note: str = Field(description="回访情况和整改措施")
    at: datetime
    department_name: str = Field(description="答复的部门")
    staff_id: str | None = Field(None, description="登记人（仅工作人员可见）")
    staff_name: str | None = Field(None, description="登记人姓名（仅工作人员可见）")


class RatingOut(BaseModel):
    id: str
    case_id: str
    receipt_no: str | None = Field(description="受理编号（不予受理的办件没有）")
    matter_name: str
    department_code: str = Field(description="实施部门（负责回访整改）")
    department_name: str
    region_code: str
    case_state: str = Field(description="completed 已办结 / denied 不予许可 / not_accepted 不予受理")
    case_state_label: str
    ended_at: datetime = Field(description="办件结束时间")
    level: int = Field(description="5 非常满意 / 4 满意 / 3 基本满意 / 2 不满意 / 1 非常不满意")
    level_label: str
    bad: bool = Field(description="是否差评（1–2）")
    tags: list[str]
    comment: str | None
    rated_at: datetime
    needs_follow_up: bool = Field(description="差评尚待回访整改")
    follow_up_due_date: str | None = Field(description="回访整改期限（北京时间日期，差评才有）")
    follow_up: FollowUpOut | None = Field(description="部门的回访整改答复")


class RatingStatusOut(BaseModel):
    case_id: str
    rateable: bool = Field(description="现在能否评价（已评价、未办结、已撤回或超过期限时为 false）")
    rate_until: datetime | None = Field(description="评价截止时间（办件结束后计算）")
    reason: str | None = Field(description="不能评价的原因")
    rating: RatingOut | None = Field(description="已提交的评价")


class RatingListOut(BaseModel):
    items: list[RatingOut]
    next_cursor: str | None


class SatisfactionOut(BaseModel):
    total: int
    levels: dict[str, int] = Field(description="各等级的评价数，键为等级 1–5")
    satisfied: int = Field(description="满意（3–5）")
    bad: int = Field(description="差评（1–2）")
    satisfaction_rate: float | None = Field(description="满意率 = (5+4+3)/总数；没有评价时为空")
    follow_up_pending: int = Field(description="尚待回访整改的差评")


class SummaryRowOut(SatisfactionOut):
    department_code: str
    department_name: str


class RatingSummaryOut(BaseModel):
    rows: list[SummaryRowOut]
    total: SatisfactionOut
