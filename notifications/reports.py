"""Provider status reports → delivery states. The parsing is the channel adapters' (channels/delivery_reports.py);
this decides what a report means for a message and applies it.

A report names the send by the provider's id (Aliyun biz_id, Tencent sid) and, for Aliyun, by our message id
(OutId). Delivered → `delivered`. Not delivered → `temporary-failure` (phone off, out of coverage, inbox full:
the same message may reach the person later, as Notify reads most carrier failures) unless the carrier code
says the number itself is dead, which is a `permanent-failure`. Reports for sends that are not notification
messages (login codes) match nothing and are acknowledged all the same: the provider would only send them again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import structlog

from core.ids import is_id
from notifications.channels.delivery_reports import (
    DeliveryReport,
    parse_aliyun_reports,
    parse_tencent_reports,
)
from notifications.messages import MessageRepository
from notifications.states import Reason, State

log = structlog.get_logger(__name__)

# Carrier codes that mean the number cannot receive at all (Aliyun's documented report codes and the CMPP
# states both providers pass on): a retry or a later send will not help.
PERMANENT_CODES = frozenset({
    "MOBILE_NOT_ON_SERVICE", "INVALID_NUMBER", "MOBILE_IN_BLACK", "USER_REJECT", "MOBILE_ACCOUNT_ABNORMAL",
    "UNDELIV", "MK:0012", "MK:0015", "MN:0001", "IC:0001",
})


def update_for(report: DeliveryReport) -> dict[str, Any]:
    if report.delivered:
        state, reason = State.DELIVERED, None
    else:
        state = State.PERMANENT_FAILURE if report.code in PERMANENT_CODES else State.TEMPORARY_FAILURE
        reason = Reason.NOT_DELIVERED.value
    message_id = report.reference if report.reference and is_id(report.reference) else None
    return {"ref": report.provider_id, "message_id": message_id, "state": state.value, "code": report.code,
            "at": report.reported_at, "reason": reason}


async def apply_reports(messages: MessageRepository, provider: Literal["aliyun", "tencent"], body: bytes, *,
                        now: datetime | None = None) -> tuple[int, int]:
    """Parse and apply one POST of reports; (reports received, messages changed). DeliveryReportError on a body
    that is not a list of reports."""
    parse = parse_aliyun_reports if provider == "aliyun" else parse_tencent_reports
    reports = parse(body)
    changed = await messages.apply_reports([update_for(r) for r in reports], now=now)
    log.info("sms_reports_applied", provider=provider, received=len(reports), changed=changed,
             delivered=sum(r.delivered for r in reports))
    return len(reports), changed
