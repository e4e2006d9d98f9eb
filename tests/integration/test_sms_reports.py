"""Delivery reports: both SMS simulators POST their provider's report format to a receiver after a send, and our
parsers read them back to the same send (by its provider id)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port
from tornado.web import Application, RequestHandler

from config.settings import Settings
from notifications.channels.aliyun_sms import AliyunSms
from notifications.channels.delivery_reports import (
    ALIYUN_ACK,
    TENCENT_ACK,
    DeliveryReport,
    parse_aliyun_reports,
    parse_tencent_reports,
)
from notifications.channels.sms import LOGIN_CODE, SmsMessage
from notifications.channels.tencent_sms import TencentSms
from tests.support.sms import SmsSim, fresh_sms_sim, random_phone


class Receiver:
    """Our side of the callback: records every body; answers `refuse_first` POSTs with a 500."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.refuse_first = 0

    async def wait(self, count: int, within_s: float = 10) -> list[bytes]:
        deadline = time.monotonic() + within_s
        while len(self.bodies) < count:
            assert time.monotonic() < deadline, f"only {len(self.bodies)} report posts arrived"
            await asyncio.sleep(0.02)
        return self.bodies


class ReceiverHandler(RequestHandler):
    def initialize(self, receiver: Receiver, ack: dict[str, Any]) -> None:
        self.receiver, self.ack = receiver, ack

    def post(self) -> None:
        self.receiver.bodies.append(self.request.body)
        if self.receiver.refuse_first > 0:
            self.receiver.refuse_first -= 1
            self.set_status(500)
            self.finish("busy")
            return
        self.finish(json.dumps(self.ack, ensure_ascii=False))


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    received = Receiver()
    app = Application([
        (r"/callbacks/aliyun", ReceiverHandler, {"receiver": received, "ack": ALIYUN_ACK}),
        (r"/callbacks/tencent", ReceiverHandler, {"receiver": received, "ack": TENCENT_ACK}),
    ])
    sock, port = bind_unused_port()
    server = HTTPServer(app)
    server.add_sockets([sock])
    yield received, f"http://127.0.0.1:{port}/callbacks"
    server.stop()


@pytest.fixture
async def aliyun(simulators: str) -> AsyncIterator[SmsSim]:
    async with fresh_sms_sim(simulators) as sim:
        yield sim


@pytest.fixture
async def tencent(simulators: str) -> AsyncIterator[SmsSim]:
    async with fresh_sms_sim(simulators, "/_sim/sms-tencent") as sim:
        yield sim


def all_reports(bodies: list[bytes], parse: Any) -> list[DeliveryReport]:
    return [report for body in bodies for report in parse(body)]


async def test_aliyun_reports_name_the_send_and_our_reference(
    settings: Settings, aliyun: SmsSim, receiver: tuple[Receiver, str]
) -> None:
    received, url = receiver
    await aliyun.report_to(url + "/aliyun", delay_ms=100)
    ok_phone, failing_phone = random_phone(), random_phone()
    await aliyun.fail_next_report(failing_phone, code="MK:0012", message="空号")
    adapter = AliyunSms.from_settings(settings)
    sent = [await asyncio.to_thread(adapter.send, SmsMessage(phone, LOGIN_CODE, {"code": "1"}, reference=f"m-{n}"))
            for n, phone in enumerate((ok_phone, failing_phone))]
    reports = all_reports(await received.wait(1), parse_aliyun_reports)
    assert len(reports) == 2  # both fell due in the same window: one POST, two reports
    by_phone = {r.phone_e164: r for r in reports}
    ok, failed = by_phone[ok_phone], by_phone[failing_phone]
    assert ok.delivered and ok.code == "DELIVERED" and ok.provider_id == sent[0].biz_id and ok.reference == "m-0"
    assert not failed.delivered and (failed.code, failed.description) == ("MK:0012", "空号")
    assert failed.provider_id == sent[1].biz_id and failed.reference == "m-1" and failed.parts == 1
    stats = await aliyun.stats()
    assert stats["reports_acknowledged"] == 2 and stats["report_posts_failed"] == 0


async def test_tencent_reports_are_retried_until_acknowledged(
    settings: Settings, tencent: SmsSim, receiver: tuple[Receiver, str]
) -> None:
    received, url = receiver
    received.refuse_first = 1
    await tencent.report_to(url + "/tencent", delay_ms=0)
    phone = random_phone()
    adapter = TencentSms.from_settings(settings)
    result = await asyncio.to_thread(adapter.send, SmsMessage(phone, LOGIN_CODE, {"code": "24680"}))
    first, second = await received.wait(2)
    assert first == second  # the same batch posted again after our 500
    [report] = parse_tencent_reports(second)
    assert report.provider == "tencent" and report.provider_id == result.biz_id and report.delivered
    assert report.code == "DELIVRD" and report.phone_e164 == phone
    stats = await tencent.stats()
    assert stats["reports_acknowledged"] == 1 and stats["report_posts_failed"] == 1
    posts = (await tencent.client.get("/_sim/sms-tencent/reports")).json()["posts"]
    assert [p["acknowledged"] for p in posts] == [False, True] and posts[0]["status"] == 500


async def test_a_forced_tencent_failure_and_no_url_means_no_reports(
    settings: Settings, tencent: SmsSim, receiver: tuple[Receiver, str]
) -> None:
    received, url = receiver
    adapter = TencentSms.from_settings(settings)
    await asyncio.to_thread(adapter.send, SmsMessage(random_phone(), LOGIN_CODE, {"code": "1"}))
    await asyncio.sleep(0.3)
    assert received.bodies == [] and (await tencent.stats())["reports_scheduled"] == 0  # no URL configured
    await tencent.report_to(url + "/tencent")
    phone = random_phone()
    await tencent.fail_next_report(phone)
    await asyncio.to_thread(adapter.send, SmsMessage(phone, LOGIN_CODE, {"code": "1"}))
    [report] = parse_tencent_reports((await received.wait(1))[0])
    assert not report.delivered and report.code == "MK:0001" and report.description == "用户短信接收失败"
