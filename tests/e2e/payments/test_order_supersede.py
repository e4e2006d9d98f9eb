"""A parent's new order for a bill closes their older open ones first (payments/order_service.py,
payments/order_closing.py), over HTTP against the simulators: the older order is closed at WeChat Pay and here
and cannot be paid any more; an older order that was paid meanwhile (its callback lost) is settled and the new
order refused with 409, the bill paid; a provider that does not answer the close leaves the older order open
for the sweep and the new order is still made; an older order closed while its own prepay was in flight is
closed again at the provider and answered 409 ORDER_SUPERSEDED."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from accounts.scopes import Actor
from config.settings import Settings
from config.wiring import Dependencies
from payments.alipay import AlipayClient
from payments.order_service import OrderIn
from payments.order_tasks import run_sweep
from payments.payment_orders import Payments
from tests.support.notify import eventually
from tests.support.payments import NotifySink, PaySim
from tests.support.school_fees import FeeSchool, linked_parent
from tests.support.school_payments import bill_paid_events, link_alipay, order_for, order_state
from tests.support.wechat import SimControl


@pytest.fixture
async def alipay_unheard(settings: Settings, pdeps: Dependencies) -> AsyncIterator[tuple[Payments, NotifySink]]:
    """Payments whose Alipay notify URL always answers `fail`: the notifies of its orders never reach us."""
    sink = NotifySink(default=(200, b"fail"))
    client = AlipayClient.from_settings(settings.model_copy(update={"alipay_notify_url": sink.url()}))
    yield Payments.build(pdeps.mongo, pdeps.settings, wechatpay=pdeps.wechatpay, alipay=client), sink
    await client.aclose()
    sink.stop()


async def test_a_new_order_closes_the_payers_older_one_at_wechatpay_and_here(
        api: httpx.AsyncClient, pdeps: Dependencies, wechat: SimControl, wxpay: PaySim, school: FeeSchool) -> None:
    child = school.children[0]
    parent = await linked_parent(api, wechat, pdeps, school, child)
    other = await linked_parent(api, wechat, pdeps, school, child)  # the other guardian
    bill_id = school.bills[child.id]
    theirs = (await order_for(api, other, bill_id, key="k-other")).json()
    first = (await order_for(api, parent, bill_id, key="k-1")).json()
    second = await order_for(api, parent, bill_id, key="k-2")  # the app restarted: a new key, a new attempt
    assert second.status_code == 201, second.text
    assert second.json()["id"] != first["id"] and second.json()["request_payment"]

    closed = (await api.get(f"/api/v1/me/orders/{first['id']}", headers=parent.headers)).json()
    assert (closed["state"], closed["closed_reason"]) == ("closed", "superseded")
    assert (await wxpay.get(f"orders/{first['id']}"))["trade_state"] == "CLOSED"
    assert (await wxpay.action("orders", first["id"], "pay")).status_code == 409  # the old cashier: refused
    assert (await wxpay.get(f"orders/{theirs['id']}"))["trade_state"] == "NOTPAY"  # another payer's: untouched

    again = await order_for(api, parent, bill_id, key="k-1")  # the old key still answers its own order
    assert again.status_code == 200 and again.json()["state"] == "closed" and again.json()["request_payment"] is None
    assert (await order_for(api, parent, bill_id, key="k-2")).json()["id"] == second.json()["id"]
    assert await pdeps.db["payment_orders"].count_documents({"bill_id": bill_id, "person_id": parent.person_id}) == 2

    assert (await wxpay.action("orders", second.json()["id"], "pay")).status_code == 200
    await order_state(api, parent, second.json()["id"], "paid")
    assert await bill_paid_events(pdeps, bill_id) == 1
    assert (await wxpay.get(f"orders/{first['id']}"))["refunds"] == []


async def test_an_older_order_paid_meanwhile_is_settled_and_the_new_one_refused(
        api: httpx.AsyncClient, pdeps: Dependencies, wechat: SimControl, alipay: PaySim, school: FeeSchool,
        alipay_unheard: tuple[Payments, NotifySink]) -> None:
    payments, sink = alipay_unheard
    child = school.children[1]
    parent = await linked_parent(api, wechat, pdeps, school, child)
    await link_alipay(api, parent, alipay)
    bill_id = school.bills[child.id]
    actor = Actor(roles=frozenset({"resident", "parent"}), person_id=parent.person_id)
    older, _, _ = await payments.orders.create(actor, bill_id, OrderIn(channel="alipay", alipay_mode="mini"),
                                               idempotency_key=None, raw=b"")
    assert (await alipay.action("trades", older["_id"], "pay")).status_code == 200  # paid; the notify is lost
    late = (await sink.wait_for(1))[0]

    refused = await order_for(api, parent, bill_id, key="k-ali-2", channel="alipay")  # a new try, in the browser
    assert refused.status_code == 409, refused.text
    body = refused.json()
    assert (body["errcode"], body["state"], body["paid_order_id"]) == ("BILL_STATE_CONFLICT", "paid", older["_id"])
    settled = await pdeps.db["payment_orders"].find_one({"_id": older["_id"]})
    assert (settled["state"], settled["payment"]["source"]) == ("paid", "query")
    assert (await pdeps.db["bills"].find_one({"_id": bill_id}))["state"] == "paid"
    assert await pdeps.db["payment_orders"].count_documents({"bill_id": bill_id}) == 1  # no new order
    stats = await alipay.stats()
    assert stats["calls"]["alipay.trade.close"] == 1 and stats["calls"]["alipay.trade.query"] == 1

    answer = await api.post("/api/v1/payments/alipay/notify", content=late.body,
                            headers={"Content-Type": late.headers["Content-Type"]})
    assert answer.status_code == 200 and answer.text == "success"  # the lost notify, late: a duplicate
    assert await bill_paid_events(pdeps, bill_id) == 1
    retry = await order_for(api, parent, bill_id, key="k-ali-2", channel="alipay")  # the phone retries the key
    assert retry.status_code == 409 and retry.json()["errcode"] == "BILL_STATE_CONFLICT"


async def test_a_provider_that_does_not_answer_the_close_leaves_the_older_order_to_the_sweep(
        api: httpx.AsyncClient, pdeps: Dependencies, wechat: SimControl, wxpay: PaySim, school: FeeSchool,
        settings: Settings) -> None:
    child = school.children[0]
    parent = await linked_parent(api, wechat, pdeps, school, child)
    bill_id = school.bills[child.id]
    first = (await order_for(api, parent, bill_id, key="k-1")).json()
    await wxpay.fault(api="close", http_status=500)
    second = await order_for(api, parent, bill_id, key="k-2")
    assert second.status_code == 201, second.text  # paying does not wait for the older order's provider
    kept = await pdeps.db["payment_orders"].find_one({"_id": first["id"]})
    assert kept["state"] == "paying" and (await wxpay.get(f"orders/{first['id']}"))["trade_state"] == "NOTPAY"

    counts = await run_sweep(settings, now=kept["created_at"] + timedelta(minutes=31))
    assert counts.get("closed", 0) >= 1
    swept = await pdeps.db["payment_orders"].find_one({"_id": first["id"]})
    assert (swept["state"], swept["closed_reason"]) == ("closed", "expired")
    assert (await wxpay.get(f"orders/{first['id']}"))["trade_state"] == "CLOSED"


async def test_an_order_closed_by_a_newer_one_while_its_prepay_was_in_flight_is_closed_at_the_provider(
        api: httpx.AsyncClient, pdeps: Dependencies, wechat: SimControl, wxpay: PaySim, school: FeeSchool) -> None:
    child = school.children[1]
    parent = await linked_parent(api, wechat, pdeps, school, child)
    bill_id = school.bills[child.id]
    await wxpay.fault(api="jsapi", delay_ms=1500)  # the first prepay is slow
    slow = asyncio.create_task(order_for(api, parent, bill_id, key="k-slow"))

    async def in_flight() -> bool:
        return (await wxpay.stats())["calls"].get("jsapi", 0) >= 1

    await eventually(in_flight, within_s=5, what="the slow prepay at WeChat Pay")
    fast = await order_for(api, parent, bill_id, key="k-fast")  # a second tap, another key
    assert fast.status_code == 201, fast.text
    late = await slow
    assert late.status_code == 409 and late.json()["errcode"] == "ORDER_SUPERSEDED", late.text
    (older,) = [d async for d in pdeps.db["payment_orders"].find({"bill_id": bill_id, "_id": {"$ne": fast.json()["id"]}})]
    assert (older["state"], older["closed_reason"]) == ("closed", "superseded")
    assert (await wxpay.get(f"orders/{older['_id']}"))["trade_state"] == "CLOSED"  # opened there late, closed again
    assert (await wxpay.action("orders", fast.json()["id"], "pay")).status_code == 200
    await order_state(api, parent, fast.json()["id"], "paid")
