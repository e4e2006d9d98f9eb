"""The pipeline's rules without I/O: quiet hours at a frozen `now`, retry backoff, queues, channel chains,
SMS failover between providers, and what a provider's delivery report means for a message."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest

from accounts.people import ContactPoints
from notifications.channels.delivery_reports import parse_aliyun_reports, parse_tencent_reports
from notifications.channels.sms import SmsMessage, SmsPermanentError, SmsResult, SmsTemporaryError
from notifications.channels.sms_failover import FailoverSms
from notifications.contract import event_payload, queue_for
from notifications.preferences import Preferences
from notifications.quiet_hours import SHANGHAI, QuietHours, due_at
from notifications.recipients import Reach, channel_chain
from notifications.reports import update_for
from notifications.retry_policy import RetryPolicy
from notifications.states import Channel, Reason
from notifications.templates import default_book, render

QUIET = QuietHours.parse("22:00-08:00")


def shanghai(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


@pytest.mark.parametrize(("moment", "expected"), [
    (shanghai(25, 21, 59), shanghai(25, 21, 59)),  # before the window: now
    (shanghai(25, 22, 0), shanghai(26, 8, 0)),  # 22:00 sharp: tomorrow morning
    (shanghai(25, 23, 30), shanghai(26, 8, 0)),
    (shanghai(26, 3, 0), shanghai(26, 8, 0)),  # after midnight: this morning
    (shanghai(26, 7, 59), shanghai(26, 8, 0)),
    (shanghai(26, 8, 0), shanghai(26, 8, 0)),  # the window has ended
    (shanghai(26, 12, 0), shanghai(26, 12, 0)),
])
def test_non_urgent_messages_wait_for_the_morning(moment: datetime, expected: datetime) -> None:
    assert due_at(moment, urgent=False, quiet=QUIET) == expected
    assert due_at(moment.astimezone(UTC), urgent=False, quiet=QUIET) == expected  # stored times are UTC


def test_urgent_messages_and_no_quiet_hours_go_now() -> None:
    three_am = shanghai(26, 3, 0)
    assert due_at(three_am, urgent=True, quiet=QUIET) == three_am
    assert due_at(three_am, urgent=False, quiet=QuietHours.parse("")) == three_am
    day_window = QuietHours.parse("12:00-13:30")  # a window that does not wrap midnight
    assert day_window is not None and day_window.release_at(shanghai(26, 12, 45)) == shanghai(26, 13, 30)
    with pytest.raises(ValueError):
        QuietHours.parse("08:00-08:00")


def test_backoff_grows_with_jitter_is_capped_and_ends() -> None:
    policy = RetryPolicy(base_s=5, cap_s=600, max_attempts=10)
    rng = random.Random(7)
    delays = [policy.delay(n, rng) for n in range(1, 10)]
    assert all(d is not None for d in delays)
    for n, d in enumerate(delays, start=1):
        ceiling = min(600, 5 * 2 ** (n - 1))
        assert ceiling / 2 <= d <= ceiling  # type: ignore[operator]
    assert policy.delay(10, rng) is None  # the tenth try was the last
    assert policy.minimum_total() > 600  # a provider down for ten minutes is outlasted by the default policy
    assert len({round(policy.delay(3, random.Random(s)), 3) for s in range(20)}) > 10  # type: ignore[arg-type]


def test_queues_by_urgency_and_size() -> None:
    assert queue_for(urgent=True, recipients=5000) == "urgent"
    assert queue_for(urgent=False, recipients=1) == "default"
    assert queue_for(urgent=False, recipients=500) == "bulk"


def test_event_payload_is_plain_json() -> None:
    doc = {"_id": "e", "topic": "t", "created_at": datetime(2026, 1, 1, tzinfo=UTC), "state": "pending",
           "data": {"at": datetime(2026, 1, 2, tzinfo=UTC), "n": [1]}, "recipients": [], "key": "k"}
    payload = event_payload(doc)
    assert payload["created_at"] == "2026-01-01T00:00:00+00:00" and payload["data"]["at"].startswith("2026-01-02")
    assert "state" not in payload


RENDERED = render(default_book().latest("case.accepted"), default_book().latest("case.accepted").sample)  # type: ignore[arg-type]
EVERYTHING = ContactPoints("p", mp_openid="o-mp", oa_openid="o-oa", phone_cipher="v1.x", phone_masked="138****0000")


@pytest.mark.parametrize(("contact", "prefs", "chain", "reason"), [
    (EVERYTHING, Preferences(), [Channel.WECHAT_SUBSCRIBE, Channel.WECHAT_TEMPLATE, Channel.SMS], None),
    (EVERYTHING, Preferences(wechat=False), [Channel.SMS], None),
    (EVERYTHING, Preferences(sms=False), [Channel.WECHAT_SUBSCRIBE, Channel.WECHAT_TEMPLATE], None),
    (EVERYTHING, Preferences(wechat=False, sms=False), [], Reason.NO_CHANNEL),
    (ContactPoints("p", phone_cipher="v1.x"), Preferences(), [Channel.SMS], None),
    (ContactPoints("p"), Preferences(), [], Reason.NO_CHANNEL),
    (ContactPoints("p", disabled=True, phone_cipher="v1.x"), Preferences(), [], Reason.RECIPIENT_DISABLED),
    (None, Preferences(), [], Reason.RECIPIENT_NOT_FOUND),
])
def test_channel_chain(contact: ContactPoints | None, prefs: Preferences, chain: list[Channel],
                       reason: Reason | None) -> None:
    got, why, detail = channel_chain(Reach("person", "p", contact, prefs), RENDERED)
    assert (got, why) == (chain, reason)
    assert bool(detail) == (reason is not None)


class Provider:
    """A scripted SMS provider (what one provider answers); the failover logic under test is ours."""

    def __init__(self, name: str, answers: list[Any]) -> None:
        self.name, self.answers, self.calls = name, answers, 0

    def send(self, message: SmsMessage) -> SmsResult:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return SmsResult(self.name, answer)


MESSAGE = SmsMessage("+8613800000001", "case.accepted", {})


def test_failover_moves_on_after_a_temporary_failure_and_skips_a_sick_provider_for_a_while() -> None:
    now = [0.0]
    first = Provider("aliyun", [SmsTemporaryError("aliyun", "ServiceUnavailable"), "never"])
    second = Provider("tencent", ["t-1", "t-2"])
    failover = FailoverSms([first, second], cooldown_s=30, clock=lambda: now[0])
    assert failover.send(MESSAGE).biz_id == "t-1"
    assert failover.send(MESSAGE).biz_id == "t-2"  # aliyun cools down: not even tried
    assert first.calls == 1
    now[0] = 31.0
    first.answers = ["a-1"]
    assert failover.send(MESSAGE).provider == "aliyun"


def test_failover_stops_at_a_permanent_failure_and_raises_the_last_temporary_one() -> None:
    illegal = SmsPermanentError("aliyun", "isv.MOBILE_NUMBER_ILLEGAL")
    second = Provider("tencent", ["unused"])
    with pytest.raises(SmsPermanentError):
        FailoverSms([Provider("aliyun", [illegal]), second]).send(MESSAGE)
    assert second.calls == 0
    no_template = SmsPermanentError("aliyun", "UNKNOWN_TEMPLATE")
    assert FailoverSms([Provider("aliyun", [no_template]), Provider("tencent", ["t"])]).send(MESSAGE).biz_id == "t"
    down = [Provider(n, [SmsTemporaryError(n, "5xx")]) for n in ("aliyun", "tencent")]
    with pytest.raises(SmsTemporaryError) as caught:
        FailoverSms(down).send(MESSAGE)
    assert caught.value.provider == "tencent"


def test_reports_become_final_states() -> None:
    [ok, off, dead] = parse_aliyun_reports(
        '[{"phone_number":"13800000001","report_time":"2026-11-25 10:00:05","success":true,"err_code":"DELIVERED",'
        '"biz_id":"b1","out_id":"01JDQ0000000000000000000AA"},'
        '{"phone_number":"13800000002","report_time":"2026-11-25 10:00:05","success":false,"err_code":"MK:0001",'
        '"biz_id":"b2","out_id":"not-ours"},'
        '{"phone_number":"13800000003","report_time":"2026-11-25 10:00:05","success":false,'
        '"err_code":"MOBILE_NOT_ON_SERVICE","biz_id":"b3"}]')
    assert update_for(ok) | {"at": None} == {"ref": "b1", "message_id": "01JDQ0000000000000000000AA",
                                             "state": "delivered", "code": "DELIVERED", "at": None, "reason": None}
    assert update_for(ok)["at"] == datetime(2026, 11, 25, 2, 0, 5, tzinfo=UTC)
    assert (update_for(off)["state"], update_for(off)["message_id"]) == ("temporary-failure", None)
    assert update_for(dead)["state"] == "permanent-failure"
    [tencent] = parse_tencent_reports('[{"user_receive_time":"2026-11-25 10:00:05","mobile":"13800000001",'
                                      '"report_status":"SUCCESS","errmsg":"DELIVRD","sid":"s1"}]')
    assert (update_for(tencent)["state"], update_for(tencent)["ref"]) == ("delivered", "s1")
