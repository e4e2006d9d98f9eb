"""Refunds asked for by school finance, end to end over HTTP with the payment simulators (real SDKs on our side):
a parent pays, one finance staff member asks for a refund, the same person cannot approve it, a second one does,
the provider refunds, its callback (WeChat Pay) or our query from the sweep (Alipay) settles it, the order shows
the refunded amount and the payer is notified (outbox). Then what must not happen: over-refunds (also by
concurrent requests), another school's staff, mismatched or premature refund callbacks, duplicates."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx

from config.settings import Settings
from config.wiring import Dependencies
from payments.order_tasks import run_sweep
from tests.support.notify import eventually
from tests.support.payments import PaySim
from tests.support.school_fees import FeeSchool, linked_parent
from tests.support.school_payments import NOTIFY
from tests.support.school_refunds import (
    ask_refund,
    finance_staff,
    paid_family,
    paid_order,
    refund_resource,
    refunds_url,
    signed_refund_callback,
)
from tests.support.staff import StaffSession
from tests.support.wechat import SimControl


async def refund_state(api: httpx.AsyncClient, who: StaffSession, school: FeeSchool, refund_id: str,
                       state: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        refund = (await api.get(refunds_url(school, f"/{refund_id}"), headers=who.headers)).json()
        return refund if refund["state"] == state else None

    return await eventually(probe, within_s=10, what=f"refund {state}")


async def settled_events(deps: Dependencies, refund_id: str) -> list[dict[str, Any]]:
    return [e async for e in deps.db["outbox"].find({"topic": "refund.settled", "data.refund_id": refund_id})]


async def test_partial_wechatpay_refund_needs_a_second_person_and_is_settled_by_the_refund_callback(
        api: httpx.AsyncClient, pdeps: Dependencies, wechat: SimControl, wxpay: PaySim, school: FeeSchool) -> None:
    child, parent, bill_id, order, asker, approver = await paid_family(api, pdeps, wechat, school, wxpay)

    asked = await ask_refund(api, asker, school, bill_id, 30_000, key="rf-1")
    assert asked.status_code == 201, asked.text
    refund = asked.json()
    assert (refund["state"], refund["amount_fen"], refund["full"], refund["order_id"], refund["channel"]) == (
        "requested", 30_000, False, order["id"], "wechatpay")
    assert refund["requested_by"]["staff_id"] == asker.staff_id and refund["decided_by"] is None
    again = await ask_refund(api, asker, school, bill_id, 30_000, key="rf-1")  # a network retry
    assert again.status_code == 200 and again.json()["id"] == refund["id"]
    reused = await ask_refund(api, asker, school, bill_id, 40_000, key="rf-1")
    assert reused.status_code == 422 and reused.json()["errcode"] == "IDEMPOTENCY_KEY_REUSED"
    assert await pdeps.db["payment_refunds"].count_documents({"bill_id": bill_id}) == 1

    for step in ("approve", "reject"):  # four eyes: the requester decides nothing
        own = await api.post(refunds_url(school, f"/{refund['id']}/{step}"), headers=asker.headers,
                             json={"reason": "自己驳回"} if step == "reject" else None)
        assert own.status_code == 403 and own.json()["errcode"] == "REFUND_SAME_PERSON", own.text
        assert own.json()["errmsg"] and own.json()["request_id"]
    approved = await api.post(refunds_url(school, f"/{refund['id']}/approve"), headers=approver.headers)
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] in ("processing", "succeeded")  # the simulator settles within milliseconds
    assert approved.json()["decided_by"]["staff_id"] == approver.staff_id

    done = await refund_state(api, asker, school, refund["id"], "succeeded")
    assert done["settled_at"] is not None
    stored = await pdeps.db["payment_refunds"].find_one({"_id": refund["id"]})
    assert stored["settled_by"] == "callback" and stored["provider_refund_id"] and stored["accepted_at"]
    sim_order = await wxpay.get(f"orders/{order['id']}")
    assert [(r["out_refund_no"], r["status"]) for r in sim_order["refunds"]] == [(refund["out_refund_no"], "SUCCESS")]
    callbacks = (await wxpay.get("callbacks", out_refund_no=refund["out_refund_no"]))["callbacks"]
    assert callbacks[0]["state"] == "delivered" and callbacks[0]["attempts"][0]["status"] == 204

    mine = (await api.get(f"/api/v1/me/orders/{order['id']}", headers=parent.headers)).json()
    assert (mine["state"], mine["refunded_fen"]) == ("paid", 30_000)
    bill = await pdeps.db["bills"].find_one({"_id": bill_id})
    assert (bill["state"], bill["refunded_fen"]) == ("paid", 30_000)  # partial: still paid
    (event,) = await settled_events(pdeps, refund["id"])
    assert event["recipients"] == [{"kind": "person", "id": parent.person_id}]
    assert (event["data"]["amount_fen"], event["data"]["refund_no"], event["data"]["bill_id"]) == (
        30_000, refund["out_refund_no"], bill_id)

    storm = await wxpay.post(f"callbacks/{callbacks[0]['id']}/resend", {"times": 10})  # ten duplicates at once
    assert [a["status"] for a in storm["attempts"]] == [204] * 10
    after = await pdeps.db["payment_refunds"].find_one({"_id": refund["id"]})
    assert after["version"] == stored["version"] and len(await settled_events(pdeps, refund["id"])) == 1
    order_doc = await pdeps.db["payment_orders"].find_one({"_id": order["id"]})
    assert (order_doc["refunded_fen"], order_doc["refund_reserved_fen"]) == (30_000, 30_000)

    listed = (await api.get(refunds_url(school), headers=approver.headers, params={"state": "succeeded"})).json()
    assert [r["id"] for r in listed["items"]] == [refund["id"]]
    by_bill = await api.get(f"/api/v1/schools/{school.school_id}/bills/{bill_id}/refunds", headers=asker.headers)
    assert [r["id"] for r in by_bill.json()["items"]] == [refund["id"]]
    late = await api.post(refunds_url(school, f"/{refund['id']}/approve"), headers=approver.headers)
    assert late.status_code == 409 and late.json()["errcode"] == "REFUND_STATE_CONFLICT"


async def test_full_alipay_refund_is_settled_by_query_from_the_sweep_and_the_bill_becomes_refunded(
        api: httpx.AsyncClient, pdeps: Dependencies, wechat: SimControl, alipay: PaySim, school: FeeSchool,
        settings: Settings) -> None:
    child, parent, bill_id, order, asker, approver = await paid_family(api, pdeps, wechat, school, alipay, child=1,
                                                                       channel="alipay")
    refund = (await ask_refund(api, asker, school, bill_id, 120_000, reason="学生退学，全额退费")).json()
    assert refund["full"] is True

    # Alipay took the refund, but our confirming query finds it busy: the refund waits for the sweep.
    await alipay.fault(method="alipay.trade.fastpay.refund.query", sub_code="isp.unknow-error")
    approved = await api.post(refunds_url(school, f"/{refund['id']}/approve"), headers=approver.headers)
    assert approved.status_code == 200 and approved.json()["state"] == "processing", approved.text
    trade = await alipay.get(f"trades/{order['id']}")
    assert trade["trade_status"] == "TRADE_CLOSED" and refund["out_refund_no"] in trade["refunds"]
    sent_at = (await pdeps.db["payment_refunds"].find_one({"_id": refund["id"]}))["sent_at"]

    early = await run_sweep(settings, now=sent_at + timedelta(minutes=settings.refund_query_after_min - 1))
    assert "school_refund_succeeded" not in early
    assert (await pdeps.db["payment_refunds"].find_one({"_id": refund["id"]}))["state"] == "processing"
    counts = await run_sweep(settings, now=sent_at + timedelta(minutes=settings.refund_query_after_min + 1))
    assert counts.get("school_refund_succeeded", 0) >= 1, counts
    done = await pdeps.db["payment_refunds"].find_one({"_id": refund["id"]})
    assert (done["state"], done["settled_by"]) == ("succeeded", "query") and done["accepted_at"] is not None

    bill = (await api.get(f"/api/v1/me/bills/{bill_id}", headers=parent.headers)).json()
    assert (bill["state"], bill["state_label"]) == ("refunded", "已退费")
    mine = (await api.get(f"/api/v1/me/orders/{order['id']}", headers=parent.headers)).json()
    assert (mine["state"], mine["refunded_fen"]) == ("paid", 120_000)
    assert len(await settled_events(pdeps, refund["id"])) == 1
    nothing_left = await ask_refund(api, asker, school, bill_id, 1)
    assert nothing_left.status_code == 409 and nothing_left.json()["errcode"] == "REFUND_AMOUNT_EXCEEDED"
    await run_sweep(settings, now=sent_at + timedelta(minutes=60))  # settled: nothing changes any more
    assert (await pdeps.db["payment_refunds"].find_one({"_id": refund["id"]}))["version"] == done["version"]
    again = await api.post(f"/api/v1/me/bills/{bill_id}/orders", headers=parent.headers, json={"channel": "wechatpay"})
    assert again.status_code == 409 and again.json()["errcode"] == "BILL_STATE_CONFLICT"  # refunded is final


async def test_refunds_never_exceed_what_was_paid_even_when_asked_at_once(
        api: httpx.AsyncClient, pdeps: Dependencies, wechat: SimControl, wxpay: PaySim, school: FeeSchool) -> None:
    child = school.children[0]
    parent = await linked_parent(api, wechat, pdeps, school, child)
    bill_id = school.bills[child.id]
    order = await paid_order(api, parent, bill_id, wxpay)
    first, second = await finance_staff(pdeps, school.school_id), await finance_staff(pdeps, school.school_id)

    over = await ask_refund(api, first, school, bill_id, 120_001)
    assert over.status_code == 409 and over.json()["errcode"] == "REFUND_AMOUNT_EXCEEDED"
    assert over.json()["refundable_fen"] == 120_000
    zero = await ask_refund(api, first, school, bill_id, 0)
    assert zero.status_code == 422 and zero.json()["errcode"] == "VALIDATION_FAILED"

    answers = await asyncio.gather(*(ask_refund(api, (first, second)[i % 2], school, bill_id, 50_000)
                                     for i in range(6)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201, 201, 409, 409, 409, 409], [a.text for a in answers]
    assert {a.json()["errcode"] for a in answers if a.status_code == 409} == {"REFUND_AMOUNT_EXCEEDED"}
    doc = await pdeps.db["payment_orders"].find_one({"_id": order["id"]})
    assert doc["refund_reserved_fen"] == 100_000

    made = [a.json() for a in answers if a.status_code == 201]
    decider = {first.staff_id: second, second.staff_id: first}
    one = made[0]
    rejected = await api.post(refunds_url(school, f"/{one['id']}/reject"),
                              headers=decider[one["requested_by"]["staff_id"]].headers, json={"reason": "金额有误，请重新申请"})
    assert rejected.status_code == 200 and rejected.json()["state"] == "rejected", rejected.text
    assert rejected.json()["reject_reason"] == "金额有误，请重新申请"
    assert (await pdeps.db["payment_orders"].find_one({"_id": order["id"]}))["refund_reserved_fen"] == 50_000
    rest = await ask_refund(api, first, school, bill_id, 70_000)  # the rejection released its 500 yuan
    assert rest.status_code == 201, rest.text
    more = await ask_refund(api, second, school, bill_id, 1)
    assert more.status_code == 409 and more.json()["refundable_fen"] == 0


async def test_another_schools_staff_and_residents_are_refused(
        api: httpx.AsyncClient, pdeps: Dependencies, wechat: SimControl, wxpay: PaySim, school: FeeSchool) -> None:
    child = school.children[0]
    parent = await linked_parent(api, wechat, pdeps, school, child)
    bill_id = school.bills[child.id]
    await paid_order(api, parent, bill_id, wxpay)
    ours = await finance_staff(pdeps, school.school_id)
    refund = (await ask_refund(api, ours, school, bill_id, 10_000)).json()
    other_school = "12430182MB" + school.school_id[10:]  # another school's code (the check needs no such school)
    theirs = await finance_staff(pdeps, other_school)

    attempts = {
        "ask": ask_refund(api, theirs, school, bill_id, 10_000),
        "list": api.get(refunds_url(school), headers=theirs.headers),
        "read": api.get(refunds_url(school, f"/{refund['id']}"), headers=theirs.headers),
        "approve": api.post(refunds_url(school, f"/{refund['id']}/approve"), headers=theirs.headers),
        "reject": api.post(refunds_url(school, f"/{refund['id']}/reject"), headers=theirs.headers,
                           json={"reason": "不是本校的"}),
    }
    for what, call in attempts.items():
        answer = await call
        assert answer.status_code == 403 and answer.json()["errcode"] == "FORBIDDEN", (what, answer.text)
    elsewhere = await api.get(f"/api/v1/schools/{other_school}/refunds/{refund['id']}", headers=theirs.headers)
    assert elsewhere.status_code == 404 and elsewhere.json()["errcode"] == "REFUND_NOT_FOUND"
    resident = await api.post(refunds_url(school, f"/{refund['id']}/approve"), headers=parent.headers)
    assert resident.status_code == 403 and resident.json()["errcode"] == "STAFF_ONLY"
    stored = await pdeps.db["payment_refunds"].find_one({"_id": refund["id"]})
    assert (stored["state"], stored["version"]) == ("requested", 0)


async def test_refund_callbacks_out_of_order_mismatched_or_premature_change_nothing_wrong(
        api: httpx.AsyncClient, pdeps: Dependencies, wechat: SimControl, wxpay: PaySim, school: FeeSchool,
        settings: Settings) -> None:
    child, parent, bill_id, _, asker, approver = await paid_family(api, pdeps, wechat, school, wxpay)
    refund = (await ask_refund(api, asker, school, bill_id, 20_000)).json()

    headers, body = signed_refund_callback(settings, refund_resource(settings, refund))
    premature = await api.post(NOTIFY, headers=headers, content=body)
    assert premature.status_code == 400 and premature.json()["code"] == "FAIL"  # never approved, never sent

    await wxpay.fault(api="refund", http_status=500)  # WeChat Pay down while it is approved
    approved = await api.post(refunds_url(school, f"/{refund['id']}/approve"), headers=approver.headers)
    assert approved.status_code == 200 and approved.json()["state"] == "approved", approved.text

    for wrong in (refund_resource(settings, refund, amount={"total": 120_000, "refund": 20_001}),
                  refund_resource(settings, refund, out_trade_no="01J99999999999999999999999")):
        headers, body = signed_refund_callback(settings, wrong)
        answer = await api.post(NOTIFY, headers=headers, content=body)
        assert answer.status_code == 400, answer.text
    assert (await pdeps.db["payment_refunds"].find_one({"_id": refund["id"]}))["state"] == "approved"

    # The provider's success notice overtakes our own record of having sent it: approved → succeeded, once.
    headers, body = signed_refund_callback(settings, refund_resource(settings, refund))
    answers = await asyncio.gather(*(api.post(NOTIFY, headers=headers, content=body) for _ in range(5)))
    assert [a.status_code for a in answers] == [204] * 5
    done = await pdeps.db["payment_refunds"].find_one({"_id": refund["id"]})
    assert (done["state"], done["settled_by"]) == ("succeeded", "callback")
    assert len(await settled_events(pdeps, refund["id"])) == 1
    order_doc = await pdeps.db["payment_orders"].find_one({"_id": refund["order_id"]})
    assert order_doc["refunded_fen"] == 20_000
