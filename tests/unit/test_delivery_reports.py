"""SMS delivery reports in each provider's format, parsed into one shape (pure: no HTTP)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from notifications.channels.delivery_reports import (
    DeliveryReportError,
    parse_aliyun_reports,
    parse_tencent_reports,
)

ALIYUN = [
    {"phone_number": "13800000003", "send_time": "2024-05-01 09:30:00", "report_time": "2024-05-01 09:30:05",
     "success": True, "err_code": "DELIVERED", "err_msg": "用户接收成功", "sms_size": "1",
     "biz_id": "123456789012345678^0", "out_id": "msg-01"},
    {"phone_number": "13900000001", "send_time": "2024-05-01 09:30:00", "report_time": "2024-05-01 09:31:00",
     "success": False, "err_code": "MK:0001", "err_msg": "用户接收失败", "sms_size": "2",
     "biz_id": "123456789012345678^0", "out_id": ""},
]
TENCENT = [
    {"user_receive_time": "2024-05-01 00:03:04", "nationcode": "86", "mobile": "13800000003",
     "report_status": "SUCCESS", "errmsg": "DELIVRD", "description": "用户短信送达成功", "sid": "2433:3851234"},
    {"user_receive_time": "2024-05-01 00:03:09", "nationcode": "86", "mobile": "13900000001",
     "report_status": "FAIL", "errmsg": "MK:0001", "description": "用户短信接收失败", "sid": "2433:3851235"},
]


def test_aliyun_batch() -> None:
    delivered, failed = parse_aliyun_reports(json.dumps(ALIYUN, ensure_ascii=False).encode())
    assert delivered.provider == "aliyun" and delivered.provider_id == "123456789012345678^0"
    assert delivered.phone_e164 == "+8613800000003" and delivered.delivered and delivered.code == "DELIVERED"
    assert delivered.reported_at == datetime(2024, 5, 1, 1, 30, 5, tzinfo=UTC)  # Beijing time → UTC
    assert delivered.sent_at == datetime(2024, 5, 1, 1, 30, tzinfo=UTC)
    assert delivered.reference == "msg-01" and delivered.parts == 1
    assert not failed.delivered and failed.code == "MK:0001" and failed.description == "用户接收失败"
    assert failed.reference is None and failed.parts == 2


def test_tencent_batch() -> None:
    delivered, failed = parse_tencent_reports(json.dumps(TENCENT))
    assert delivered.provider == "tencent" and delivered.provider_id == "2433:3851234" and delivered.delivered
    assert delivered.code == "DELIVRD" and delivered.phone_e164 == "+8613800000003"
    assert delivered.reported_at == datetime(2024, 4, 30, 16, 3, 4, tzinfo=UTC)  # crosses midnight backwards
    assert delivered.sent_at is None and delivered.reference is None
    assert not failed.delivered and failed.code == "MK:0001"


def test_a_single_object_counts_as_one_report_and_extra_fields_are_ignored() -> None:
    [report] = parse_tencent_reports(json.dumps({**TENCENT[0], "ext": "", "fee": 1}))
    assert report.delivered


def test_success_flag_and_code_must_agree_for_aliyun() -> None:
    [odd] = parse_aliyun_reports(json.dumps([{**ALIYUN[0], "err_code": "UNDELIV"}]))
    assert not odd.delivered  # success=true with a failure code is not taken as delivered


def test_repr_masks_the_number() -> None:
    [report] = parse_aliyun_reports(json.dumps(ALIYUN[:1]))
    assert "13800000003" not in repr(report) and "138****0003" in repr(report)


@pytest.mark.parametrize(("parse", "body", "problem"), [
    (parse_aliyun_reports, b"not json", "not JSON"),
    (parse_aliyun_reports, json.dumps([{**ALIYUN[0], "report_time": "01/05/2024"}]), "YYYY-MM-DD HH:MM:SS"),
    (parse_aliyun_reports, json.dumps([{k: v for k, v in ALIYUN[0].items() if k != "biz_id"}]), "biz_id"),
    (parse_aliyun_reports, json.dumps([{**ALIYUN[0], "success": "perhaps"}]), "success"),
    (parse_aliyun_reports, json.dumps([{**ALIYUN[0], "phone_number": "not-a-phone"}]), "phone"),
    (parse_tencent_reports, json.dumps([{**TENCENT[0], "report_status": "MAYBE"}]), "report_status"),
    (parse_tencent_reports, json.dumps("a string"), "body: Input should be a valid list"),
    (parse_tencent_reports, json.dumps([{**TENCENT[0], "sid": ""}]), "sid"),
])
def test_unreadable_reports_are_refused_with_a_reason(parse, body, problem: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DeliveryReportError) as caught:
        parse(body)
    assert problem in str(caught.value)
