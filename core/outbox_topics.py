"""The contract between the producers of outbox events and the notification templates, one entry per topic.

A producer (affairs/, payments/, accounts/) records an event whose `data` fills the placeholders of the topic's
template (notifications/templates.toml). The two are written by different people at different times, so what a
producer sends and what a template asks for drift apart silently: a template naming a value nobody sends fails
every message of that topic as MISSING_PLACEHOLDER, a topic nobody wrote a template for as UNKNOWN_TEMPLATE.
This module states, per topic, what the producer guarantees, and the tests hold both sides to it:

- `keys`: present and non-empty in every event of the topic. Templates may use these (and `at`, the time the
  event was recorded, which the pipeline adds) and nothing else (tests/unit/test_notify_contract.py).
- `optional`: sent, but sometimes empty (a receipt number before acceptance). Templates must not use them.
- `silent`: the topic is deliberately told to nobody; its producer records no event. The reason says why.
- `pending`: a template is ready but no producer records the topic yet; the reason says what is missing.

Every event the test session records is checked against this and rendered with the real rendering code for every
channel (tests/e2e/test_zz_notify_contract.py), so a producer that stops sending a declared key fails there.

Lives in `core/` beside the outbox, so domain packages and `notifications/` can both read it without importing
each other. Values are masked before they get here: no full ID or phone numbers; people's names, where a message
to someone else carries them, go through `core.masking.mask_name`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Topic:
    name: str
    producer: str  # where the event is recorded (module paths), or "" for a topic nobody records
    keys: frozenset[str] = frozenset()
    optional: frozenset[str] = frozenset()
    silent: str | None = None  # "no message": why nobody is told
    pending: str | None = None  # a template without a producer yet: why

    @property
    def messaged(self) -> bool:
        """True when events of this topic become messages (so a template must exist)."""
        return self.silent is None


def _topic(name: str, producer: str, keys: str = "", optional: str = "", *, silent: str | None = None,
           pending: str | None = None) -> Topic:
    return Topic(name, producer, frozenset(keys.split()), frozenset(optional.split()), silent, pending)


# Every case event (affairs/case_history.py `History.record`) carries these, and the step adds its own values.
_CASE_NOW = "case_id matter_name department_name state_label"
_CASE = f"{_CASE_NOW} due_at"
_TASK = "case_id task_id matter_name due_at region_code"
_FEE_ITEM = "fee_item_id fee_item_name school_name amount_fen region_code"

TOPICS: dict[str, Topic] = {t.name: t for t in (
    # -- cases, to the applicant (affairs/case_review.py through affairs/case_history.py) -------------------------
    _topic("case.submitted", "affairs/case_apply.py", silent=(
        "提交（和补正后重新提交）是申请人本人刚做的操作，页面当场显示结果，不另发消息；第一条通知是受理、补正或"
        "不予受理")),
    _topic("case.accepted", "affairs/case_review.py", f"{_CASE} receipt_no deferred_count"),
    _topic("case.supplement_requested", "affairs/case_review.py",  # pre-review: no 受理编号 yet; the clock
           f"{_CASE_NOW} problem_count round", "receipt_no due_at"),  # is paused, so no due time either
    _topic("case.not_accepted", "affairs/case_review.py", f"{_CASE} reason", "receipt_no"),
    _topic("case.approved", "affairs/case_review.py", f"{_CASE} receipt_no"),
    _topic("case.denied", "affairs/case_review.py", f"{_CASE} receipt_no reason"),
    _topic("case.completed", "affairs/case_review.py", f"{_CASE} receipt_no result"),
    # The invitation to rate (好差评) once a case has ended, whichever way; `completed_at` is when it ended.
    _topic("case.rating_requested", "affairs/case_review.py affairs/rating_invites.py",
           "case_id matter_name department_name completed_at", "receipt_no"),  # none when not accepted
    # -- tasks, to staff and supervisors (affairs/case_tasks.py, affairs/supervision.py) ---------------------------
    _topic("task.created", "affairs/case_tasks.py", f"{_TASK} stage applicant",
           "receipt_no"),  # a pre-review task exists before acceptance
    _topic("task.warning", "affairs/supervision.py", f"{_TASK} department_code", "receipt_no"),
    _topic("task.overdue", "affairs/supervision.py", f"{_TASK} department_code", "receipt_no"),
    # -- school fees, to guardians, payers and staff (payments/) ---------------------------------------------------
    _topic("bill.published", "payments/bill_generation.py payments/guardians.py",
           "bill_id fee_item_name term student_name school_name amount_fen"),
    _topic("bill.paid", "payments/bill_service.py",
           "bill_id fee_item_name student_name school_name amount_fen order_no paid_at"),
    _topic("bill.cancelled", "payments/bill_cancellation.py payments/fee_items.py payments/student_leaving.py",
           "bill_id fee_item_name student_name school_name amount_fen reason"),
    _topic("refund.settled", "payments/refund_settlement.py",
           "bill_id bill_name student_name amount_fen refund_no order_id refund_id full settled_at"),
    # Money that arrived for an order that could not be paid went back by itself (the automatic refund).
    _topic("payment.returned", "payments/order_refunds.py",
           "bill_id bill_name student_name amount_fen refund_no order_id reason_label settled_at"),
    _topic("fee_item.submitted", "payments/fee_items.py", f"{_FEE_ITEM} action_label"),
    _topic("fee_item.approved", "payments/fee_items.py", f"{_FEE_ITEM} action_label"),
    _topic("fee_item.rejected", "payments/fee_items.py", f"{_FEE_ITEM} side_label reason"),
    # -- account security, to the person (accounts/events.py NOTIFY) -----------------------------------------------
    _topic("account.citizen_id_bind_attempt_by_other", "accounts/events.py accounts/binding.py", "at masked"),
    _topic("account.phone_bind_attempt_by_other", "accounts/events.py accounts/phone_accounts.py", "at masked"),
    # In NOTIFY, but no caller records this type yet: accounts/sessions.py revokes the session on reuse and stops.
    _topic("account.refresh_token_reused", "accounts/events.py", "at"),
)}

# What every template may use besides the topic's keys: the time the event was recorded (notifications/fanout.py).
ALWAYS = frozenset({"at"})


def missing_keys(topic: str, data: dict[str, object]) -> list[str]:
    """The declared keys of `topic` that `data` lacks or leaves empty (None or ""), in sorted order."""
    declared = TOPICS.get(topic)
    if declared is None:
        return []
    return sorted(k for k in declared.keys if data.get(k) is None or data.get(k) == "")
