"""What residents and staff send to rate a case and to record a 差评's follow-up (every bad field at once)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from affairs.rating_rules import MAX_COMMENT, MAX_TAGS, TAGS, Outcome

Tag = Literal[TAGS]  # type: ignore[valid-type]


class RatingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: int = Field(ge=1, le=5, description="5 非常满意 / 4 满意 / 3 基本满意 / 2 不满意 / 1 非常不满意")
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS, description="评价标签（固定选项）")
    comment: Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_COMMENT)] | None = Field(
        None, description="文字评价；不满意（1–2）时必填")


class FollowUpIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Outcome = Field(description="rectified 已整改 / explained 已解释说明")
    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=4, max_length=1000)] = Field(
        description="回访情况和整改措施（申请人可见）")
