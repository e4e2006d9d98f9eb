"""Fee items (收费项目): what a school may charge, and the rules of their joint review. Pure (no I/O).

    draft ──submit──▶ under_review ──both approve──▶ approved ──publish──▶ published ──withdraw──▶ withdrawn
      ▲                   │                            │                                            ▲
      └───reject (either department, with a reason)────┘                              approved ─────┘

- The school's finance staff create and edit drafts; a draft names its amount in integer fen, its term
  (`2026-autumn`), the grades and/or classes it applies to, and its basis (收费依据: the price document).
- Submitting starts a review round: the education department AND the price department must each approve that
  exact revision; either may reject with a reason, which sends the item back to the school as a draft (the
  next submission starts a new round in which both review again, because the content may have changed).
- Only an approved item can be published (bills are generated then); a published item is never edited, only
  withdrawn, which cancels its unpaid bills. Withdrawing an approved item that never went out is allowed too.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

MAX_AMOUNT_FEN = 10_000_000  # 十万元: no school fee item comes near; a typo of extra zeros does
TERM_RE = re.compile(r"^20\d{2}-(spring|autumn)$")


class FeeItemState(StrEnum):
    DRAFT = "draft"
    UNDER_REVIEW = "under_review"
    APPROVED = "approved"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


STATE_LABELS = {FeeItemState.DRAFT: "草稿", FeeItemState.UNDER_REVIEW: "联审中", FeeItemState.APPROVED: "已通过联审",
                FeeItemState.PUBLISHED: "已发布", FeeItemState.WITHDRAWN: "已撤回"}


class Side(StrEnum):
    """The two reviewing departments."""

    EDUCATION = "education"
    PRICE = "price"


SIDE_LABELS = {Side.EDUCATION: "教育部门", Side.PRICE: "价格主管部门"}


class Decision(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Action(StrEnum):
    EDIT = "edit"
    SUBMIT = "submit"
    REVIEW = "review"  # approve or reject
    PUBLISH = "publish"
    WITHDRAW = "withdraw"


ALLOWED: dict[Action, tuple[FeeItemState, ...]] = {
    Action.EDIT: (FeeItemState.DRAFT,),
    Action.SUBMIT: (FeeItemState.DRAFT,),
    Action.REVIEW: (FeeItemState.UNDER_REVIEW,),
    Action.PUBLISH: (FeeItemState.APPROVED,),
    Action.WITHDRAW: (FeeItemState.APPROVED, FeeItemState.PUBLISHED),
}
REFUSALS = {
    Action.EDIT: "只有草稿可以修改；已发布的收费项目只能撤回",
    Action.SUBMIT: "只有草稿可以提交联审",
    Action.REVIEW: "只有联审中的收费项目可以审核",
    Action.PUBLISH: "须经教育部门和价格主管部门都审核通过后才能发布",
    Action.WITHDRAW: "只有已通过联审或已发布的收费项目可以撤回",
}


class TransitionRefused(Exception):
    def __init__(self, state: FeeItemState, reason: str) -> None:
        super().__init__(reason)
        self.state, self.reason = state, reason


def check_allowed(state: str, action: Action) -> None:
    """Return when `action` is allowed in `state`; TransitionRefused (with a Chinese reason) otherwise."""
    current = FeeItemState(state)
    if current not in ALLOWED[action]:
        raise TransitionRefused(current, REFUSALS[action])


def pending_reviews() -> dict[str, dict[str, Any]]:
    return {side.value: {"decision": Decision.PENDING.value, "by": None, "at": None, "reason": None}
            for side in Side}


def review_outcome(reviews: dict[str, dict[str, Any]], side: Side, approve: bool) -> FeeItemState:
    """The state after `side` decides: rejected → draft; approved by both → approved; else still in review.
    Raises TransitionRefused when this side already decided in this round."""
    if reviews[side.value]["decision"] != Decision.PENDING:
        raise TransitionRefused(FeeItemState.UNDER_REVIEW, f"{SIDE_LABELS[side]}已审核过本轮提交")
    if not approve:
        return FeeItemState.DRAFT
    others = [reviews[s.value]["decision"] for s in Side if s != side]
    return FeeItemState.APPROVED if all(d == Decision.APPROVED for d in others) else FeeItemState.UNDER_REVIEW


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class FeeItemIn(Strict):
    """A fee item as the school writes it (create, and edit with `revision`)."""

    name: str = Field(min_length=2, max_length=60, description="收费项目名称", examples=["2026年秋季学期作业本费"])
    amount_fen: StrictInt = Field(gt=0, le=MAX_AMOUNT_FEN, description="每名学生的金额，单位为分（整数）",
                                  examples=[12000])
    term: str = Field(description="学期：年份-spring（春季）或 年份-autumn（秋季）", examples=["2026-autumn"])
    grades: list[str] = Field(default_factory=list, max_length=20, description="适用年级（与花名册中的年级一致）")
    class_ids: list[str] = Field(default_factory=list, max_length=200, description="适用班级的编号（另可按年级）")
    basis: str = Field(min_length=4, max_length=500, description="收费依据：价格主管部门的批准文件文号及名称",
                       examples=["宁发改价费〔2026〕12号《关于规范中小学服务性收费的通知》"])
    description: str | None = Field(None, max_length=500, description="给家长看的说明")

    @field_validator("term")
    @classmethod
    def _term(cls, value: str) -> str:
        if not TERM_RE.fullmatch(value):
            raise ValueError("学期格式为 年份-spring 或 年份-autumn，如 2026-autumn")
        return value

    @field_validator("grades", "class_ids")
    @classmethod
    def _distinct(cls, values: list[str]) -> list[str]:
        cleaned = [v.strip() for v in values]
        if any(not v or len(v) > 32 for v in cleaned):
            raise ValueError("每一项须为 1–32 个字符")
        return list(dict.fromkeys(cleaned))

    @model_validator(mode="after")
    def _applies_to_someone(self) -> FeeItemIn:
        if not self.grades and not self.class_ids:
            raise ValueError("请至少选择一个适用年级或班级")
        return self


class FeeItemEditIn(FeeItemIn):
    revision: int = Field(ge=0, description="读取时的 revision；已被他人修改时返回 409")


class RevisionIn(Strict):
    revision: int = Field(ge=0, description="读取时的 revision：审核、发布的正是看到的这一版；已变时返回 409")


class ReasonIn(RevisionIn):
    reason: str = Field(min_length=2, max_length=500, description="原因（退回或撤回时必填，学校和家长可见）")


def snapshot(doc: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the audit trail records of a fee item before and after a change."""
    if doc is None:
        return None
    return {"state": doc["state"], "revision": doc["revision"], "round": doc.get("round", 0),
            "amount_fen": doc["amount_fen"], "reviews": {side: r["decision"] for side, r in doc["reviews"].items()}}
