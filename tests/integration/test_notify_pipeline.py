"""The notification pipeline on the session's servers: outbox → relay (a real process) → Celery worker (a real
process) → the SMS / WeChat simulators → delivery reports back to the API. Each test records an event through
the real outbox and reads the outcome from the messages, the in-app inbox and the simulators' inboxes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from config.settings import Settings
from config.wiring import Dependencies
from mobile_api.server import ApiServer
from notifications.inbox import InboxRepository
from notifications.messages import MessageRepository
from notifications.templates import default_book
from tests.support.notify import (
    PipelineProcess,
    eventually,
    person_with_phone,
    person_with_wechat,
    record_event,
    settled_messages,
)
from tests.support.sms import SmsSim, fresh_sms_sim
from tests.support.wechat import SimControl

pytestmark = pytest.mark.slow
ACCEPTED = default_book().latest("case.accepted").sample  # type: ignore[union-attr]


@pytest.fixture
async def sms(simulators: str, api_server: tuple[ApiServer, str], outbox_relay: PipelineProcess
              ) -> AsyncIterator[SmsSim]:
    """The Aliyun SMS simulator, reset, posting its delivery reports to our API at once."""
    async with fresh_sms_sim(simulators) as sim:
        await sim.report_to(f"{api_server[1]}/api/v1/notifications/reports/aliyun-sms", delay_ms=0)
        yield sim


async def test_an_event_reaches_the_phone_once_and_the_report_confirms_it(
        deps: Dependencies, settings: Settings, sms: SmsSim) -> None:
    person_id, phone = await person_with_phone(deps.db, settings)
    event_id = await record_event(deps.db, "case.accepted", [("person", person_id)], dict(ACCEPTED))

    [message] = await settled_messages(deps.db, event_id, states={"delivered"})
    assert message["channel"] == "sms" and message["provider"] == "aliyun" and message["attempts"] == 1
    assert [step["state"] for step in message["history"]] == ["created", "sending", "sent", "delivered"]
    [received] = await sms.messages(phone)
    assert received["text"] == ("【掌上办】您申请的出生医学证明首次签发已受理，办件编号4301822026112500001，"
                                "承诺2026年12月10日前办结。")
    assert received["out_id"] == message["_id"] and received["biz_id"] == message["provider_ref"]
    [item] = await InboxRepository(deps.db).page("person", person_id, before=None, limit=10)
    assert item["title"] == "办件已受理" and "4301822026112500001" in item["body"] and item["unread"]


async def test_unusable_events_are_recorded_as_permanent_failures_with_their_reason(
        deps: Dependencies, settings: Settings, sms: SmsSim) -> None:
    person_id, phone = await person_with_phone(deps.db, settings)
    wechat_only, _ = await person_with_wechat(deps.db)  # no grant, no phone: nothing can carry it
    unknown = await record_event(deps.db, "case.teleported", [("person", person_id)], {"x": "1"},
                                 unusable="a topic with no template, on purpose")
    missing = await record_event(deps.db, "case.accepted", [("person", person_id)], {"matter_name": "出生登记"},
                                 unusable="values the template needs are missing, on purpose")
    nobody = await record_event(deps.db, "case.accepted", [("person", "01JDQ00000000000000NOBODY1"),
                                                            ("person", wechat_only)], dict(ACCEPTED))

    [u] = await settled_messages(deps.db, unknown)
    assert (u["state"], u["reason"], u["channel"]) == ("permanent-failure", "UNKNOWN_TEMPLATE", "none")
    [m] = await settled_messages(deps.db, missing)
    assert m["reason"] == "MISSING_PLACEHOLDER" and "receipt_no" in m["detail"] and "due_at" in m["detail"]
    docs = {d["recipient"]["id"]: d for d in await settled_messages(deps.db, nobody, count=2)}
    assert docs["01JDQ00000000000000NOBODY1"]["reason"] == "RECIPIENT_NOT_FOUND"
    assert (docs[wechat_only]["channel"], docs[wechat_only]["reason"]) == ("wechat_subscribe", "NO_GRANT")
    assert await sms.messages(phone) == []
    # the in-app notification centre still has it for the WeChat-only person
    assert await InboxRepository(deps.db).unread_count("person", wechat_only) == 1


async def test_a_granted_subscribe_message_goes_to_wechat_and_spends_the_grant(
        deps: Dependencies, sms: SmsSim, wechat_sim: SimControl) -> None:
    person_id, openid = await person_with_wechat(deps.db)
    await wechat_sim.grant("mp-payment-result", openid=openid)  # the phone's "allow" (one-time)
    await deps.notifications.report_grants("person", person_id, {"mp-payment-result": "accept"})
    sample = default_book().latest("bill.paid").sample  # type: ignore[union-attr]
    event_id = await record_event(deps.db, "bill.paid", [("person", person_id)], dict(sample))

    [message] = await settled_messages(deps.db, event_id, states={"delivered"})
    assert message["channel"] == "wechat_subscribe" and message["provider"] == "wechat_mp"
    [received] = await wechat_sim.messages(openid=openid)
    assert received["data"]["amount2"] == "¥1800.00" and received["data"]["phrase3"] == "支付成功"
    [grant] = await deps.notifications.grants_of("person", person_id)
    assert grant["available"] == 0


async def test_wechat_that_cannot_deliver_falls_back_to_one_sms(
        deps: Dependencies, settings: Settings, sms: SmsSim, wechat_sim: SimControl) -> None:
    # our count says there is a grant, but the person withdrew it in WeChat: WeChat answers 43101
    person_id, phone = await person_with_phone(deps.db, settings)
    openid = "o" + person_id.lower()
    await deps.db["people"].update_one({"_id": person_id}, {"$set": {"wechat.mp_openid": openid}})
    await wechat_sim.grant("mp-case-progress", openid=openid, decision="reject")
    await deps.notifications.report_grants("person", person_id, {"mp-case-progress": "accept"})
    event_id = await record_event(deps.db, "case.accepted", [("person", person_id)], dict(ACCEPTED))

    docs = {d["channel"]: d for d in await settled_messages(deps.db, event_id, count=2)}
    assert (docs["wechat_subscribe"]["reason"], docs["wechat_subscribe"]["provider_code"]) == ("NO_GRANT", "43101")
    assert docs["sms"]["fallback_of"] == docs["wechat_subscribe"]["_id"]
    await sms.wait_for_message(phone)
    assert len(await sms.messages(phone)) == 1 and await wechat_sim.messages(openid=openid) == []
    [grant] = await deps.notifications.grants_of("person", person_id)
    assert grant["available"] == 0  # WeChat is the authority


async def test_official_account_reaches_followers_only(
        deps: Dependencies, settings: Settings, sms: SmsSim, wechat_sim: SimControl) -> None:
    follower, follower_openid = await person_with_wechat(deps.db, app="oa")
    await wechat_sim.follow(openid=follower_openid)
    stranger, phone = await person_with_phone(deps.db, settings)
    stranger_openid = "o" + stranger.lower()
    await deps.db["people"].update_one({"_id": stranger}, {"$set": {"wechat.oa_openid": stranger_openid}})
    await wechat_sim.follow(openid=stranger_openid, follow=False)  # known to the account, not following
    sample = default_book().latest("task.created").sample  # type: ignore[union-attr]
    event_id = await record_event(deps.db, "case.approved", [("person", follower), ("person", stranger)],
                                  dict(ACCEPTED) | dict(sample))

    docs = await settled_messages(deps.db, event_id, count=3)
    outcome = {(d["recipient"]["id"], d["channel"]): (d["state"], d["reason"]) for d in docs}
    assert outcome[(follower, "wechat_template")] == ("delivered", None)
    assert outcome[(stranger, "wechat_template")] == ("permanent-failure", "NOT_FOLLOWER")
    assert outcome[(stranger, "sms")][0] in ("sent", "delivered")
    [received] = await wechat_sim.messages(openid=follower_openid)
    assert received["data"]["phrase3"] == "审核通过"


async def test_redispatch_of_a_delivered_event_sends_nothing_more(
        deps: Dependencies, settings: Settings, sms: SmsSim) -> None:
    person_id, phone = await person_with_phone(deps.db, settings)
    event_id = await record_event(deps.db, "case.approved", [("person", person_id)], dict(ACCEPTED))
    await settled_messages(deps.db, event_id)
    # the relay crashed between publishing and marking: the event is pending again and goes out a second time
    await deps.db["outbox"].update_one({"_id": event_id}, {"$set": {"state": "pending"}})

    async def dispatched_again() -> dict[str, Any] | None:
        return await deps.db["outbox"].find_one({"_id": event_id, "state": {"$ne": "pending"}})

    await eventually(dispatched_again, what="the relay publishing the event again")
    await eventually(lambda: _worker_saw(deps, event_id), what="the worker processing it again", within_s=10)
    assert len(await MessageRepository(deps.db).for_event(event_id)) == 1
    assert len(await sms.messages(phone)) == 1


async def _worker_saw(deps: Dependencies, event_id: str) -> bool:
    return bool(await deps.db["notification_messages"].count_documents({"event_id": event_id}))


async def test_reports_endpoint_refuses_a_body_that_is_not_a_report(api_server: tuple[ApiServer, str]) -> None:
    async with httpx.AsyncClient(base_url=api_server[1]) as client:
        answer = await client.post("/api/v1/notifications/reports/aliyun-sms", content=b'{"hello": 1}',
                                   headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and answer.json()["errcode"] == "DELIVERY_REPORT_INVALID"
