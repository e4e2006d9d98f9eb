"""Response models of the case endpoints (the OpenAPI document is built from them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class ClockOut(BaseModel):
    started_at: datetime
    promised_days: int = Field(description="承诺时限（工作日）")
    statutory_days: int = Field(description="法定时限（工作日）")
    due_at: datetime | None = Field(description="到期时刻；等待补正时为空")
    due_date: str | None = Field(description="到期日（北京时间，该日 24:00 到期）")
    remaining_working_days: int = Field(description="剩余工作日，超期为负数")
    level: str = Field(description="normal 正常 / warning 已用 80% / overdue 超期")
    paused: bool = Field(description="是否因等待补正暂停计时")
    stopped: bool
    provisional: bool = Field(description="跨越尚未公布节假日安排的年份时为 true（按周末推算）")
    fraction_elapsed: float


class CaseOut(BaseModel):
    id: str
    receipt_no: str | None = Field(description="受理编号（受理后生成）")
    state: str
    state_label: str
    version: int = Field(description="办件版本：修改、撤回时带上，过期则 409")
    matter: dict[str, Any]
    region_code: str
    applicant: dict[str, Any] = Field(description="申请人（身份证号、手机号已脱敏）")
    form: dict[str, Any] = Field(description="表单内容（身份证号、手机号已脱敏）")
    materials: list[dict[str, Any]]
    supplements: list[dict[str, Any]] = Field(description="补正告知（每次列出全部问题）")
    deferred: list[dict[str, Any]] = Field(description="容缺受理的材料、承诺和补交期限")
    last_resubmission: dict[str, Any] | None
    clock: ClockOut | None
    result: dict[str, Any] | None
    allowed_actions: list[str] = Field(description="当前用户此刻可以执行的操作")
    created_at: datetime
    submitted_at: datetime | None
    updated_at: datetime
    tasks: list[dict[str, Any]] | None = Field(None, description="各部门任务（工作人员可见）")
    history: list[dict[str, Any]] | None = Field(None, description="全程记录（工作人员可见）")


class CaseItemOut(BaseModel):
    id: str
    receipt_no: str | None
    matter_name: str
    state: str
    state_label: str
    updated_at: datetime
    due_date: str | None
    level: str | None


class CaseListOut(BaseModel):
    items: list[CaseItemOut]
    next_cursor: str | None


class EventOut(BaseModel):
    seq: int
    at: datetime
    action: str
    action_label: str
    from_: str = Field(alias="from")
    to: str
    actor: dict[str, Any]
    opinion: str | None
    attachments: list[str]
    details: dict[str, Any]

    model_config = {"populate_by_name": True}


class TimelineOut(BaseModel):
    items: list[EventOut]


class TaskOut(BaseModel):
    id: str
    case_id: str
    stage: str = Field(description="prereview 预审受理 / review 部门审查")
    round: int
    department_code: str
    region_code: str
    matter_name: str
    applicant_name: str
    state: str = Field(description="open 待认领 / claimed 已认领 / done 已处理 / approved / denied / cancelled")
    assignee: dict[str, Any] | None
    opinions: list[dict[str, Any]]
    created_at: datetime
    due_at: datetime | None
    level: str = Field(description="normal 正常 / warning 已用 80% / overdue 超期（已关闭的任务按关闭时计算）")
    remaining_working_days: int | None = Field(
        description="剩余工作日，超期为负数（与办件计时同一算法）")


class InboxOut(BaseModel):
    items: list[TaskOut]
    next_cursor: str | None


class ChainOut(BaseModel):
    case_id: str
    ok: bool
    events: int
    broken_at_seq: int | None = Field(description="第一条校验失败的记录序号")
    reason: str | None


class BoardRowOut(BaseModel):
    department_code: str
    region_code: str
    overdue: int
    warning: int
    oldest_due_at: datetime | None


class BoardOut(BaseModel):
    at: datetime
    overdue: int
    warning: int
    rows: list[BoardRowOut]


class EcertOut(BaseModel):
    id: str
    type: str
    type_name: str
    title: str
    issuer: str
    number: str
    issued_at: datetime


class EcertListOut(BaseModel):
    items: list[EcertOut]
