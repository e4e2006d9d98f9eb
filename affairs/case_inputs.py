"""What applicants and staff send to move a case: validated request models (every bad field at once)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Opinion = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
DocumentId = Annotated[str, StringConstraints(pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$")]
Target = Annotated[str, StringConstraints(pattern=r"^(form\.[A-Za-z_][A-Za-z0-9_]{0,63}|materials\.[0-9]{1,2})$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MaterialChoice(Strict):
    """How one material of the guide is provided: uploaded documents, or an e-certificate held (免提交), or —
    for a material the guide allows to defer (容缺) — a written promise to hand it in later."""

    index: int = Field(ge=0, le=59, description="指南中材料的序号（从 0 开始）")
    document_ids: list[DocumentId] = Field(default_factory=list, max_length=20, description="已上传并确认的文件")
    ecert_id: DocumentId | None = Field(None, description="引用本人持有的电子证照（免提交）")
    promise: Annotated[str, StringConstraints(strip_whitespace=True, min_length=4, max_length=200)] | None = Field(
        None, description="容缺承诺：可容缺的材料暂缺时，承诺在规定期限内补交")


class DraftChange(Strict):
    form: dict[str, Any] = Field(default_factory=dict, description="表单内容（按事项的表单定义）")
    materials: list[MaterialChoice] = Field(default_factory=list, max_length=60)
    version: int | None = Field(None, ge=1, description="读取时的办件版本；与当前版本不同则返回 409")


class StartCase(Strict):
    matter_code: str = Field(min_length=1, max_length=64, description="事项编码")


class Withdraw(Strict):
    reason: Opinion = Field(description="撤回原因")
    version: int | None = Field(None, ge=1)


class Problem(Strict):
    target: Target = Field(description="有问题的表单字段（form.字段名）或材料（materials.序号）")
    message: Opinion = Field(description="问题说明和补正要求")


class SupplementRequest(Strict):
    problems: list[Problem] = Field(min_length=1, max_length=50, description="一次性列出全部问题")
    opinion: Opinion | None = None


class Accept(Strict):
    opinion: Opinion | None = None
    deferred_due_days: int = Field(10, ge=1, le=60, description="容缺材料补交期限（工作日）")


class NotAccept(Strict):
    reason: Opinion = Field(description="不予受理的理由和依据")


class Decision(Strict):
    approve: bool = Field(description="true 同意，false 不同意")
    opinion: Opinion = Field(description="审查意见")


class ResultKind(StrEnum):
    ECERT = "ecert"  # 电子证照
    DOCUMENT = "document"  # 电子文书
    DELIVERY = "delivery"  # 纸质结果邮寄或窗口领取


class Complete(Strict):
    kind: ResultKind = Field(description="办理结果形式")
    note: Opinion | None = Field(None, description="结果说明，如邮寄单号或领取地点")
    document_ids: list[DocumentId] = Field(default_factory=list, max_length=10)


class OpinionNote(Strict):
    opinion: Opinion


class Transfer(Strict):
    to_staff_id: DocumentId = Field(description="接收任务的同部门工作人员")
    opinion: Opinion | None = None
