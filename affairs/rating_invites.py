"""The invitation to rate (`case.rating_requested`), recorded when a case ends, in the same transaction.

affairs/case_review.py records it beside the step that ends the case (complete, deny, not accept), through the
same session as the state change and its history event, so an ended case always has its invitation and a
rolled-back step has none. The data are the keys core/outbox_topics.py declares for the topic; `completed_at`
is when the case ended, whichever way it ended.
"""

from __future__ import annotations

from typing import Any

from affairs.case_history import applicant_of
from affairs.rating_rules import ended_at
from core.outbox import OutboxEvent


def rating_requested_event(case: dict[str, Any]) -> OutboxEvent:
    """One invitation per case (the key), to its applicant; `case` is the case as the ending step left it."""
    end = ended_at(case)
    if end is None:
        raise ValueError(f"case {case['_id']} has not ended: no rating invitation")
    return OutboxEvent(
        topic="case.rating_requested", key=f"case:{case['_id']}:rating_requested", recipients=applicant_of(case),
        data={"case_id": case["_id"], "matter_name": case["matter"]["name"],
              "department_name": case["matter"]["department_name"], "receipt_no": case.get("receipt_no"),
              "completed_at": end},
        subject={"kind": "case", "id": case["_id"]})
