"""The beat sweep (payments/order_tasks.py → payments/order_sweep.py) with its own clients, as the worker runs it:
a paid order whose callbacks never reached us is settled by a query and a late callback then changes nothing;
an abandoned order expires and is closed at the provider; money reported for a closed order is recorded and a
refund is requested, never a second payment."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from accounts.scopes import Actor
from config.settings import Settings
from config.wiring import Dependencies
from payments.order_service import OrderIn
from payments.order_tasks import run_sweep
from payments.payment_orders import Payments
from payments.wechatpay import WeChatPayClient
from payments.wechatpay_callback import failure_body
from tests.support.notify import eventually
from tests.support.payments import NotifySink, PaySim
from tests.support.school_fees import FeeSchool, linked_parent
from tests.support.school_payments import NOTIFY, bill_paid_events, order_for, signed_callback, transaction
from tests.support.wechat import SimControl


@pytest.fixture
async def deaf(settings: Settings, pdeps: Dependencies) -> AsyncIterator[tuple[Payments, NotifySink]]:
    """Payments whose WeChat Pay notify URL is a sink that always answers 500: callbacks never reach us."""
    sink = NotifySink(default=(500, failure_body("系统繁忙")))
    client = WeChatPayClient.from_settings(settings.model_copy(update={"wechatpay_notify_url": sink.url()}))
    yield Payments.build(pdeps.mongo, pdeps.settings, wechatpay=client, alipay=pdeps.alipay), sink
    await client.aclose()
    sink.stop()


async def test_a_paid_order_without_callback_is_settled_by_the_sweep_and_a_late_callback_changes_nothing(
        api: httpx.AsyncClient, pdeps: Dependencies, wechat: SimControl, wxpay: PaySim, school: FeeSchool,
        settings: Settings, deaf: tuple[Payments, NotifySink]) -> None:
    payments, sink = deaf
    child = school.children[0]
    parent = await linked_parent(api, wechat, pdeps, school, child)
    actor = Actor(roles=frozenset({"resident", "parent"}), person_id=parent.person_id)
    order, params, _ = await payments.orders.create(actor, school.bills[child.id], OrderIn(channel="wechatpay"),
                                                    idempotency_key=None, raw=b"")
    assert params.request_payment is not None
    await wxpay.action("orders", order["_id"], "pay")
    late = (await sink.wait_for(1))[0]
    assert (await pdeps.db["payment_orders"].find_one({"_id": order["_id"]}))["state"] == "paying"

    await run_sweep(settings, now=order["created_at"] + timedelta(minutes=4))  # not N minutes old: not asked
    assert (await pdeps.db["payment_orders"].find_one({"_id": order["_id"]}))["state"] == "paying"
    counts = await run_sweep(settings, now=order["created_at"] + timedelta(minutes=6))
    assert counts.get("applied", 0) >= 1
    settled = await pdeps.db["payment_orders"].find_one({"_id": order["_id"]})
    assert (settled["state"], settled["payment"]["source"]) == ("paid", "query")
    bill = await pdeps.db["bills"].find_one({"_id": school.bills[child.id]})
    assert bill["state"] == "paid" and bill["payment"]["order_id"] == order["_id"]

    answer = await api.post(NOTIFY, headers={k: v for k, v in late.headers.items() if k.lower() != "host"},
                            content=late.body)  # the provider's own callback, arriving after the sweep
    assert answer.status_code == 204
    after = await pdeps.db["payment_orders"].find_one({"_id": order["_id"]})
    assert after["version"] == settled["version"] and after["payment"] == settled["payment"]
    assert await bill_paid_events(pdeps, school.bills[child.id]) == 1
    await run_sweep(settings, now=order["created_at"] + timedelta(minutes=40))
    assert (await pdeps.db["payment_orders"].find_one({"_id": order["_id"]}))["version"] == settled["version"]


async def test_an_abandoned_order_expires_and_money_reported_later_is_refunded_not_applied(
        api: httpx.AsyncClient, pdeps: Dependencies, wechat: SimControl, wxpay: PaySim, school: FeeSchool,
        settings: Settings) -> None:
    child = school.children[1]
    parent = await linked_parent(api, wechat, pdeps, school, child)
    bill_id = school.bills[child.id]
    order = (await order_for(api, parent, bill_id)).json()
    await wxpay.action("orders", order["id"], "abandon")  # the parent closed the cashier
    created = (await pdeps.db["payment_orders"].find_one({"_id": order["id"]}))["created_at"]
    assert (await run_sweep(settings, now=created + timedelta(minutes=10))).get("waiting", 0) >= 1
    assert (await pdeps.db["payment_orders"].find_one({"_id": order["id"]}))["state"] == "paying"
    assert (await run_sweep(settings, now=created + timedelta(minutes=31))).get("closed", 0) >= 1
    closed = await pdeps.db["payment_orders"].find_one({"_id": order["id"]})
    assert (closed["state"], closed["closed_reason"]) == ("closed", "expired")
    assert (await wxpay.get(f"orders/{order['id']}"))["trade_state"] == "CLOSED"  # closed at the provider too
    assert (await wxpay.action("orders", order["id"], "pay")).status_code == 409

    headers, body = signed_callback(settings, transaction(settings, order["id"], order["amount_fen"]))
    answer = await api.post(NOTIFY, headers=headers, content=body)  # money reported for the closed order
    assert answer.status_code == 204

    async def decided() -> dict[str, Any] | None:
        doc = await pdeps.db["payment_orders"].find_one({"_id": order["id"]})
        return doc if doc["refund"] and doc["refund"]["state"] != "requested" else None

    doc = await eventually(decided, within_s=10, what="the refund sent")
    assert doc["state"] == "closed" and doc["late"] and doc["payment"]["amount_fen"] == order["amount_fen"]
    # The simulator took no money for a closed order, so it refuses the refund: flagged for a person.
    assert doc["refund"]["state"] == "failed"
    assert (await pdeps.db["bills"].find_one({"_id": bill_id}))["state"] == "unpaid"
    again = await api.post(NOTIFY, headers=headers, content=body)
    assert again.status_code == 204
    assert (await pdeps.db["payment_orders"].find_one({"_id": order["id"]}))["version"] == doc["version"]
    fresh = await order_for(api, parent, bill_id)  # the bill can still be paid by a new order
    assert fresh.status_code == 201 and fresh.json()["id"] != order["id"]
