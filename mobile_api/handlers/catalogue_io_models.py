"""Response models of the catalogue's xlsx import (what the OpenAPI document shows of an import job)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class ImportIssueOut(BaseModel):
    """One bad cell: where it is, as Excel shows it, and why."""

    sheet: str | None = Field(description="工作表名称，如 事项、申请材料；为空表示整个文件")
    row: int | None = Field(description="行号（与 Excel 左侧显示的一致，表头为第 1 行）；为空表示整张表")
    column: str | None = Field(description="列名（表头文字）")
    matter_code: str | None = Field(description="所属事项编码")
    field: str | None = Field(description="对应的指南字段路径，如 materials.0.ecert_type")
    errcode: str = Field(description="稳定的错误码，如 CELL_NOT_INTEGER、REGION_UNKNOWN")
    reason: str = Field(description="中文原因")


class ImportResultOut(BaseModel):
    code: str
    name: str
    row: int = Field(description="在「事项」表中的行号")
    outcome: Literal["created", "updated", "unchanged"] = Field(
        description="created 新建草稿，updated 成为新的草稿版本，unchanged 内容与现有事项相同、未作改动")


class ImportJobOut(BaseModel):
    """An import job: its state, progress and, when finished, its report."""

    job_id: str
    state: Literal["queued", "validating", "importing", "done", "failed"] = Field(
        description="queued 排队中，validating 校验中，importing 写入中，done 已导入，failed 未导入（见 issues）")
    progress: int = Field(ge=0, le=100, description="进度百分比")
    department_code: str
    department_name: str
    file_sha256: str = Field(description="文件的 SHA-256；同一部门再次上传相同文件返回同一任务")
    file_size: int
    counts: dict[str, int] = Field(description="matters、materials、steps、places 行数；完成后另有 created、updated、"
                                               "unchanged；失败时有 issues")
    issues: list[ImportIssueOut] = Field(description="每个有误的单元格（失败时）")
    issues_total: int = Field(description="错误总数（报告最多列出 2000 条）")
    results: list[ImportResultOut] = Field(description="每个事项的导入结果（完成时）")
    message: str | None = Field(description="结果说明")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, job: dict[str, Any]) -> ImportJobOut:
        return cls(job_id=job["_id"], state=job["state"], progress=job["progress"],
                   department_code=job["department_code"], department_name=job["department_name"],
                   file_sha256=job["sha256"], file_size=job["size"], counts=job.get("counts") or {},
                   issues=[ImportIssueOut(**issue) for issue in job.get("issues") or []],
                   issues_total=job.get("issues_total", 0),
                   results=[ImportResultOut(**result) for result in job.get("results") or []],
                   message=job.get("message"), created_at=job["created_at"], started_at=job.get("started_at"),
                   finished_at=job.get("finished_at"))
