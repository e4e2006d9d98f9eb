"""A reconciliation day with one planted discrepancy: two parents pay by WeChat Pay on a past day (the simulator
books them on it); one callback reaches us, the other never does (its notify URL answers 500), so that order is
paid at WeChat Pay and not here. The morning task (its own clients, as the worker runs it) reconciles the day and
finds exactly that order; school finance sees it over HTTP. The order sweep then settles the order by a query,
the receipt sweep issues its receipt, and school finance re-runs the day: the report is replaced and clean."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta

import httpx
import pytest

from accounts.scopes import Actor
from config.settings import Settings
from config.wiring import Dependencies
from payments.order_service import OrderIn
from payments.order_tasks import run_sweep
from payments.payment_orders import Payments
from payments.payment_record_tasks import run_receipt_sweep, run_reconciliation
from payments.reconciliation import SHANGHAI
from payments.wechatpay import WeChatPayClient
from payments.wechatpay_callback import failure_body
from tests.support.payments import NotifySink, PaySim
from tests.support.school_fees import REGION, FeeSchool, linked_parent
from tests.support.school_payments import order_for, order_state
from tests.support.sms import SmsSim
from tests.support.staff import make_staff, staff_login
from tests.support.wechat import SimControl


@pytest.fixture
async def unheard(settings: Settings, pdeps: Dependencies) -> AsyncIterator[Payments]:
    """Payments whose WeChat Pay notify URL always answers 500: the callbacks of its orders never reach us."""
    sink = NotifySink(default=(500, failure_body("系统繁忙")))
    client = WeChatPayClient.from_settings(settings.model_copy(update={"wechatpay_notify_url": sink.url()}))
    yield Payments.build(pdeps.mongo, pdeps.settings, wechatpay=client, alipay=pdeps.alipay)
    await client.aclose()
    sink.stop()


async def test_a_payment_never_heard_of_is_found_shown_to_the_school_and_a_rerun_replaces_the_report(
        api: httpx.AsyncClient, pdeps: Dependencies, wechat: SimControl, wxpay: PaySim, school: FeeSchool,
        settings: Settings, sms: SmsSim, unheard: Payments) -> None:
    day = datetime.now(SHANGHAI).date() - timedelta(days=5 + secrets.randbelow(50))
    morning = datetime.combine(day, time(9, 30), SHANGHAI)
    heard_child, lost_child = school.children
    heard_parent = await linked_parent(api, wechat, pdeps, school, heard_child)
    heard = (await order_for(api, heard_parent, school.bills[heard_child.id])).json()
    assert (await wxpay.action("orders", heard["id"], "pay", success_time=morning.isoformat())).status_code == 200
    await order_state(api, heard_parent, heard["id"], "paid")

    lost_parent = await linked_parent(api, wechat, pdeps, school, lost_child)
    payer = Actor(roles=frozenset({"resident", "parent"}), person_id=lost_parent.person_id)
    lost, _, _ = await unheard.orders.create(payer, school.bills[lost_child.id], OrderIn(channel="wechatpay"),
                                             idempotency_key=None, raw=b"")
    paid_there = (morning + timedelta(hours=8)).isoformat()  # 17:30 Beijing time, the same day
    assert (await wxpay.action("orders", lost["_id"], "pay", success_time=paid_there)).status_code == 200
    assert (await pdeps.db["payment_orders"].find_one({"_id": lost["_id"]}))["state"] == "paying"

    finance_user = await make_staff(pdeps, roles=("school_finance",), department_id=school.school_id,
                                    department_name="宁乡市测试小学", region_code=REGION)
    finance = await staff_login(api, sms, finance_user)
    reports_url = f"/api/v1/schools/{school.school_id}/reconciliation"
    assert (await api.get(reports_url, headers=finance.headers)).json() == {"items": []}

    runs = await run_reconciliation(settings, day)  # the morning task, with its own clients
    assert [(r.channel, r.status) for r in runs] == [("wechatpay", "done"), ("alipay", "done")]
    seen = (await api.get(reports_url, headers=finance.headers)).json()["items"]
    assert [(r["channel"], r["day"], r["status"], r["runs"]) for r in seen] == [("wechatpay", day.isoformat(), "done", 1)]
    (found,) = seen[0]["discrepancies"]
    assert (found["kind"], found["out_trade_no"], found["provider_fen"], found["local_state"]) == (
        "paid_there_not_here", lost["_id"], school.amount_fen, "wechatpay:paying")
    stored = await pdeps.db["reconciliation_reports"].find_one({"_id": f"wechatpay:{day.isoformat()}"})
    ours = [d for d in stored["discrepancies"] if d["school_id"] == school.school_id]
    assert [d["out_trade_no"] for d in ours] == [lost["_id"]]  # the order that was heard of is matched
    assert stored["provider"]["payments"] == 2 and stored["matched"]["payments"] >= 1

    parent_view = await api.get(reports_url, headers=heard_parent.headers)
    assert parent_view.status_code == 403 and parent_view.json()["errcode"] == "STAFF_ONLY"
    receipt_pdf = await api.get(f"/api/v1/schools/{school.school_id}/bills/{school.bills[heard_child.id]}/receipt/pdf",
                                headers=finance.headers)  # school finance downloads its school's receipts
    assert receipt_pdf.status_code == 200 and receipt_pdf.content.startswith(b"%PDF-")
    assert (await api.get(f"/api/v1/schools/{school.school_id}/bills/{school.bills[lost_child.id]}/receipt/pdf",
                          headers=finance.headers)).json()["errcode"] == "RECEIPT_NOT_FOUND"

    # The order sweep asks WeChat Pay and settles the order; the receipt sweep issues its receipt.
    assert (await run_sweep(settings, now=lost["created_at"] + timedelta(minutes=6))).get("applied", 0) >= 1
    settled = await pdeps.db["payment_orders"].find_one({"_id": lost["_id"]})
    assert settled["state"] == "paid" and settled["payment"]["paid_at"].astimezone(SHANGHAI).date() == day
    assert await pdeps.db["receipts"].count_documents({"out_trade_no": lost["_id"]}) == 0  # owed, not yet issued
    assert (await run_receipt_sweep(settings, now=datetime.now(UTC) + timedelta(minutes=1))).get("receipt_issued", 0) >= 1
    assert await pdeps.db["receipts"].count_documents({"out_trade_no": lost["_id"]}) == 1

    too_soon = await api.post(f"{reports_url}/runs", headers=finance.headers,
                              json={"day": datetime.now(SHANGHAI).date().isoformat()})
    assert too_soon.status_code == 422 and too_soon.json()["errcode"] == "RECONCILIATION_DAY_INVALID"
    rerun = await api.post(f"{reports_url}/runs", headers=finance.headers, json={"day": day.isoformat()})
    assert rerun.status_code == 200, rerun.text
    assert rerun.json()["runs"] == [{"channel": "wechatpay", "status": "done", "error": None},
                                    {"channel": "alipay", "status": "done", "error": None}]
    assert rerun.json()["reports"] == []
    assert (await api.get(reports_url, headers=finance.headers)).json() == {"items": []}
    replaced = await pdeps.db["reconciliation_reports"].find_one({"_id": f"wechatpay:{day.isoformat()}"})
    assert replaced["runs"] == 2 and replaced["first_run_at"] == stored["first_run_at"]
    assert not [d for d in replaced["discrepancies"] if d["school_id"] == school.school_id]
    assert replaced["provider"]["payments"] == 2
