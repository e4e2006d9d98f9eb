"""The case (办件) state machine: every allowed transition, and who may fire it. Pure; the workflow obeys it.

    draft ─submit→ submitted ─start_prereview→ pre_review ─accept→ accepted ─start_review→ in_review
                                                  │  ├─request_supplement→ needs_supplement ─resubmit→ resubmitted
                                                  │  │                                 (resubmitted ─start_prereview→ pre_review)
                                                  │  └─not_accept→ not_accepted (final)
    in_review ─approve→ approved ─complete→ completed (final)
    in_review ─deny→ denied (final)
    draft … in_review ─withdraw→ withdrawn (final, only before a decision)

Who fires what: the applicant (submit, resubmit, withdraw), staff of the implementing department (pre-review,
supplement, accept or not, complete), and the system (review starts on acceptance; the case is approved when
every department's review task is approved and denied when one is denied). Department review tasks have their
own small machine in `affairs.case_tasks`; here a decision is a case-level fact.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CaseState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    PRE_REVIEW = "pre_review"
    NEEDS_SUPPLEMENT = "needs_supplement"
    RESUBMITTED = "resubmitted"
    ACCEPTED = "accepted"
    NOT_ACCEPTED = "not_accepted"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    DENIED = "denied"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"


class Actor(StrEnum):
    APPLICANT = "applicant"
    STAFF = "staff"  # staff of the implementing department (受理部门)
    SYSTEM = "system"


class CaseAction(StrEnum):
    SUBMIT = "submit"
    START_PREREVIEW = "start_prereview"
    REQUEST_SUPPLEMENT = "request_supplement"
    RESUBMIT = "resubmit"
    ACCEPT = "accept"
    NOT_ACCEPT = "not_accept"
    START_REVIEW = "start_review"
    APPROVE = "approve"
    DENY = "deny"
    COMPLETE = "complete"
    WITHDRAW = "withdraw"


S, A = CaseState, CaseAction

_BEFORE_DECISION = (S.DRAFT, S.SUBMITTED, S.PRE_REVIEW, S.NEEDS_SUPPLEMENT, S.RESUBMITTED, S.ACCEPTED,
                    S.IN_REVIEW)


@dataclass(frozen=True, slots=True)
class Rule:
    sources: tuple[CaseState, ...]
    target: CaseState
    actor: Actor


RULES: dict[CaseAction, Rule] = {
    A.SUBMIT: Rule((S.DRAFT,), S.SUBMITTED, Actor.APPLICANT),
    A.START_PREREVIEW: Rule((S.SUBMITTED, S.RESUBMITTED), S.PRE_REVIEW, Actor.STAFF),
    A.REQUEST_SUPPLEMENT: Rule((S.PRE_REVIEW,), S.NEEDS_SUPPLEMENT, Actor.STAFF),
    A.RESUBMIT: Rule((S.NEEDS_SUPPLEMENT,), S.RESUBMITTED, Actor.APPLICANT),
    A.ACCEPT: Rule((S.PRE_REVIEW,), S.ACCEPTED, Actor.STAFF),
    A.NOT_ACCEPT: Rule((S.PRE_REVIEW,), S.NOT_ACCEPTED, Actor.STAFF),
    A.START_REVIEW: Rule((S.ACCEPTED,), S.IN_REVIEW, Actor.SYSTEM),
    A.APPROVE: Rule((S.IN_REVIEW,), S.APPROVED, Actor.SYSTEM),
    A.DENY: Rule((S.IN_REVIEW,), S.DENIED, Actor.SYSTEM),
    A.COMPLETE: Rule((S.APPROVED,), S.COMPLETED, Actor.STAFF),
    A.WITHDRAW: Rule(_BEFORE_DECISION, S.WITHDRAWN, Actor.APPLICANT),
}

FINAL = frozenset({S.NOT_ACCEPTED, S.DENIED, S.COMPLETED, S.WITHDRAWN})
# While the case waits for the applicant, its time-limit clock stands still.
CLOCK_PAUSED = frozenset({S.NEEDS_SUPPLEMENT})
# States in which the clock runs (submitted until decided).
CLOCK_RUNNING = frozenset({S.SUBMITTED, S.PRE_REVIEW, S.RESUBMITTED, S.ACCEPTED, S.IN_REVIEW})

LABELS: dict[CaseState, str] = {
    S.DRAFT: "草稿", S.SUBMITTED: "已提交", S.PRE_REVIEW: "预审中", S.NEEDS_SUPPLEMENT: "待补正",
    S.RESUBMITTED: "已补正", S.ACCEPTED: "已受理", S.NOT_ACCEPTED: "不予受理", S.IN_REVIEW: "审查中",
    S.APPROVED: "审批通过", S.DENIED: "不予许可", S.COMPLETED: "已办结", S.WITHDRAWN: "已撤回",
}


class TransitionRefused(Exception):
    """The action is not allowed now; `state` is the current one (the API answers 409 with it)."""

    def __init__(self, action: CaseAction, state: CaseState, reason: str) -> None:
        super().__init__(reason)
        self.action, self.state, self.reason = action, state, reason


def next_state(state: CaseState, action: CaseAction, actor: Actor) -> CaseState:
    """The state after `action` by `actor`, or TransitionRefused saying why not."""
    rule = RULES[action]
    if actor is not rule.actor:
        raise TransitionRefused(action, state, f"该操作只能由{_ACTOR_LABEL[rule.actor]}执行")
    if state not in rule.sources:
        raise TransitionRefused(action, state, f"办件当前为“{LABELS[state]}”，不能执行此操作")
    return rule.target


def allowed_actions(state: CaseState, actor: Actor) -> list[CaseAction]:
    """What this actor may do now (the client shows only these buttons)."""
    return [action for action, rule in RULES.items() if rule.actor is actor and state in rule.sources]


_ACTOR_LABEL = {Actor.APPLICANT: "申请人", Actor.STAFF: "受理部门工作人员", Actor.SYSTEM: "系统"}
