"""The case state machine and the audit chain, as pure functions: tables, then properties (Hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from affairs import case_chain
from affairs.case_states import (
    FINAL,
    RULES,
    Actor,
    CaseAction,
    CaseState,
    TransitionRefused,
    allowed_actions,
    next_state,
)

S, A = CaseState, CaseAction


@pytest.mark.parametrize(("state", "action", "actor", "expected"), [
    (S.DRAFT, A.SUBMIT, Actor.APPLICANT, S.SUBMITTED),
    (S.SUBMITTED, A.START_PREREVIEW, Actor.STAFF, S.PRE_REVIEW),
    (S.PRE_REVIEW, A.REQUEST_SUPPLEMENT, Actor.STAFF, S.NEEDS_SUPPLEMENT),
    (S.NEEDS_SUPPLEMENT, A.RESUBMIT, Actor.APPLICANT, S.RESUBMITTED),
    (S.RESUBMITTED, A.START_PREREVIEW, Actor.STAFF, S.PRE_REVIEW),
    (S.PRE_REVIEW, A.ACCEPT, Actor.STAFF, S.ACCEPTED),
    (S.PRE_REVIEW, A.NOT_ACCEPT, Actor.STAFF, S.NOT_ACCEPTED),
    (S.ACCEPTED, A.START_REVIEW, Actor.SYSTEM, S.IN_REVIEW),
    (S.IN_REVIEW, A.APPROVE, Actor.SYSTEM, S.APPROVED),
    (S.IN_REVIEW, A.DENY, Actor.SYSTEM, S.DENIED),
    (S.APPROVED, A.COMPLETE, Actor.STAFF, S.COMPLETED),
    (S.IN_REVIEW, A.WITHDRAW, Actor.APPLICANT, S.WITHDRAWN),
    (S.NEEDS_SUPPLEMENT, A.WITHDRAW, Actor.APPLICANT, S.WITHDRAWN),
])
def test_allowed_transitions(state: CaseState, action: CaseAction, actor: Actor, expected: CaseState) -> None:
    assert next_state(state, action, actor) is expected


@pytest.mark.parametrize(("state", "action", "actor", "says"), [
    (S.APPROVED, A.WITHDRAW, Actor.APPLICANT, "审批通过"),  # after a decision: too late to withdraw
    (S.SUBMITTED, A.ACCEPT, Actor.STAFF, "已提交"),  # accept only after pre-review started
    (S.DRAFT, A.SUBMIT, Actor.STAFF, "申请人"),  # staff cannot submit for the applicant
    (S.PRE_REVIEW, A.ACCEPT, Actor.APPLICANT, "受理部门"),
    (S.IN_REVIEW, A.APPROVE, Actor.STAFF, "系统"),  # a department decides its task; the case follows
    (S.COMPLETED, A.COMPLETE, Actor.STAFF, "已办结"),
])
def test_refused_transitions_say_why(state: CaseState, action: CaseAction, actor: Actor, says: str) -> None:
    with pytest.raises(TransitionRefused) as refused:
        next_state(state, action, actor)
    assert refused.value.state is state and says in refused.value.reason


def test_final_states_allow_nothing_and_drafts_show_their_buttons() -> None:
    for state in FINAL:
        assert all(allowed_actions(state, actor) == [] for actor in Actor)
    assert allowed_actions(S.DRAFT, Actor.APPLICANT) == [A.SUBMIT, A.WITHDRAW]
    assert allowed_actions(S.PRE_REVIEW, Actor.STAFF) == [A.REQUEST_SUPPLEMENT, A.ACCEPT, A.NOT_ACCEPT]


steps = st.lists(st.tuples(st.sampled_from(list(CaseAction)), st.sampled_from(list(Actor))), max_size=40)


@settings(max_examples=300, deadline=None)
@given(steps)
def test_random_actions_stay_inside_the_machine_and_every_change_is_chained(sequence: list[tuple[CaseAction, Actor]]
                                                                            ) -> None:
    """Whatever anyone tries, in any order: the state is always one of the machine's, every applied step is one
    rule of the table, each one is recorded, and the recorded chain verifies."""
    state, events, head = S.DRAFT, [], case_chain.GENESIS
    at = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    for action, actor in sequence:
        try:
            target = next_state(state, action, actor)
        except TransitionRefused as refused:
            assert refused.state is state
            continue
        rule = RULES[action]
        assert state in rule.sources and rule.actor is actor and target is rule.target
        at += timedelta(minutes=7)
        event = case_chain.seal({"case_id": "C1", "seq": len(events) + 1, "at": at, "action": action.value,
                                 "from": state.value, "to": target.value, "actor": {"kind": actor.value}}, head)
        events.append(event)
        head, state = event["hash"], target
        assert state in set(CaseState)
    assert case_chain.verify(events, head_hash=head, expected_count=len(events)).ok
    if state in FINAL:
        assert all(allowed_actions(state, actor) == [] for actor in Actor)


def _chain(n: int) -> tuple[list[dict[str, object]], str]:
    events, head = [], case_chain.GENESIS
    for seq in range(1, n + 1):
        event = case_chain.seal({"case_id": "C2", "seq": seq, "at": datetime(2026, 1, 5, seq, tzinfo=UTC),
                                 "action": "note", "opinion": f"意见 {seq}"}, head)
        events.append(event)
        head = str(event["hash"])
    return events, head


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=2, max_value=12), st.data())
def test_any_tampering_is_found_at_its_place(n: int, data: st.DataObject) -> None:
    events, head = _chain(n)
    victim = data.draw(st.integers(min_value=0, max_value=n - 1))
    how = data.draw(st.sampled_from(["edit", "delete", "swap", "drop_last"]))
    tampered = [dict(e) for e in events]
    if how == "edit":
        tampered[victim]["opinion"] = "篡改"
        expected = victim + 1
    elif how == "delete":
        del tampered[victim]
        expected = victim + 1
    elif how == "swap":
        other = (victim + 1) % n
        tampered[victim], tampered[other] = tampered[other], tampered[victim]
        expected = min(victim, other) + 1
    else:
        tampered.pop()
        expected = n
    report = case_chain.verify(tampered, head_hash=head, expected_count=n)
    assert not report.ok and report.broken_at_seq == expected and report.reason


def test_an_intact_chain_verifies() -> None:
    events, head = _chain(5)
    assert case_chain.verify(events, head_hash=head, expected_count=5).as_dict() == {
        "ok": True, "events": 5, "broken_at_seq": None, "reason": None}
