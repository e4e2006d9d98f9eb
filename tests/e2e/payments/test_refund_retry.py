"""Failed refunds, over HTTP with the WeChat Pay simulator (refunds settled by hand through its control API):
school finance sees them by state with the provider's reason (the refunds' board), tries one again under a new
number only when the provider says it failed for good (refused outright, or CLOSED; not ABNORMAL, where the
money is held there), once however often it is asked; the same for the automatic refund of money that arrived
for an order that could not be paid, whose payer is told (`payment.returned`) once the money is back."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from config.wiring import Dependencies
from tests.support.notify import eventually
from tests.support.payments import PaySim
from tests.support.school_fees import FeeSchool, linked_parent
from tests.support.school_payments import order_for
from tests.support.school_refunds import ask_refund, finance_staff, paid_family, refund_in_state, refunds_url
from tests.support.wechat import SimControl


async def test_a_refund_the_provider_refused_is_tried_again_once_and_an_abnormal_one_is_not(
        api: httpx.AsyncClient, pdeps: Dependencies, wechat: SimControl, wxpay: PaySim, school: FeeSchool) -> None:
    child, parent, bill_id, order, asker, approver = await paid_family(api, pdeps, wechat, school, wxpay)
    await wxpay.configure(auto_settle_refunds=False)  # refunds stay PROCESSING until settled by hand
    # Someone refunded 1,000 yuan at the merchant platform, outside 掌上办: only 200 yuan are left there.
    outside = await pdeps.wechatpay.refund(out_trade_no=order["id"], out_refund_no=f"OOB{order['id']}",
                                           refund_fen=100_000, total_fen=120_000, reason="商户平台手工退款")

    refused = (await ask_refund(api, asker, school, bill_id, 30_000)).json()
    approved = await api.post(refunds_url(school, f"/{refused['id']}/approve"), headers=approver.headers)
    assert approved.status_code == 200 and approved.json()["state"] == "failed", approved.text
    failed = approved.json()
    assert (failed["failure"], failed["failure_message"], failed["retryable"]) == (
        "INVALID_REQUEST", "申请退款金额超过订单可退金额", True)
    assert "可重新发起" in failed["failure_label"]

    held = (await ask_refund(api, asker, school, bill_id, 20_000)).json()
    assert (await api.post(refunds_url(school, f"/{held['id']}/approve"), headers=approver.headers)).status_code == 200
    await wxpay.post(f"refunds/{held['out_refund_no']}/settle", {"status": "ABNORMAL"})  # REFUND.ABNORMAL callback
    abnormal = await refund_in_state(api, asker, school, held["id"], "failed")
    assert (abnormal["failure"], abnormal["retryable"]) == ("ABNORMAL", False)
    not_again = await api.post(refunds_url(school, f"/{held['id']}/retry"), headers=asker.headers)
    assert not_again.status_code == 409 and not_again.json()["errcode"] == "REFUND_RETRY_NOT_ALLOWED", not_again.text

    board = (await api.get(refunds_url(school, "/board"), headers=asker.headers)).json()
    assert board["school"]["failed"] == {"count": 2, "amount_fen": 50_000}
    assert {r["id"]: r["retryable"] for r in board["failed"]} == {refused["id"]: True, held["id"]: False}
    listed = (await api.get(refunds_url(school), headers=asker.headers, params={"state": "failed"})).json()["items"]
    assert {r["id"] for r in listed} == {refused["id"], held["id"]}

    # The outside refund is closed at the platform: the 300 yuan can go back now. Asked five times at once: one.
    await wxpay.post(f"refunds/{outside.out_refund_no}/settle", {"status": "CLOSED"})
    answers = await asyncio.gather(*(api.post(refunds_url(school, f"/{refused['id']}/retry"),
                                              headers=(asker, approver)[i % 2].headers) for i in range(5)))
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 200, 201], [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    retry = next(a.json() for a in answers if a.status_code == 201)
    assert (retry["retry_of"], retry["attempt"], retry["amount_fen"], retry["state"]) == (
        refused["id"], 2, 30_000, "processing")
    assert retry["out_refund_no"] != refused["out_refund_no"] and retry["decided_by"] == failed["decided_by"]
    assert (await api.get(refunds_url(school, f"/{refused['id']}"), headers=asker.headers)).json()["retried_by"] == \
        retry["id"]
    later = await api.post(refunds_url(school, f"/{refused['id']}/retry"), headers=asker.headers)
    assert later.status_code == 200 and later.json()["id"] == retry["id"]
    assert await pdeps.db["payment_refunds"].count_documents({"bill_id": bill_id}) == 3
    assert (await pdeps.db["payment_orders"].find_one({"_id": order["id"]}))["refund_reserved_fen"] == 30_000

    await wxpay.post(f"refunds/{retry['out_refund_no']}/settle", {"status": "SUCCESS"})
    await refund_in_state(api, asker, school, retry["id"], "succeeded")
    board = (await api.get(refunds_url(school, "/board"), headers=asker.headers)).json()
    assert board["school"]["succeeded"] == {"count": 1, "amount_fen": 30_000}
    assert board["school"]["failed"] == {"count": 1, "amount_fen": 20_000}  # the retried one is handled
    assert [r["id"] for r in board["failed"]] == [held["id"]]
    assert await pdeps.db["credit_notes"].count_documents({"refund_id": retry["id"]}) == 1
    assert await pdeps.db["credit_notes"].count_documents({"refund_id": refused["id"]}) == 0
    sim = {r["out_refund_no"]: r["status"] for r in (await wxpay.get(f"orders/{order['id']}"))["refunds"]}
    assert sim == {outside.out_refund_no: "CLOSED", held["out_refund_no"]: "ABNORMAL",
                   retry["out_refund_no"]: "SUCCESS"}  # the refused number never became a refund there

    still_asked = (await ask_refund(api, asker, school, bill_id, 1_000)).json()
    early = await api.post(refunds_url(school, f"/{still_asked['id']}/retry"), headers=asker.headers)
    assert early.status_code == 409 and early.json()["errcode"] == "REFUND_STATE_CONFLICT"
    theirs = await finance_staff(pdeps, "12430182MB" + school.school_id[10:])
    for call in (api.post(refunds_url(school, f"/{refused['id']}/retry"), headers=theirs.headers),
                 api.get(refunds_url(school, "/board"), headers=theirs.headers),
                 api.get(f"/api/v1/schools/{school.school_id}/late-payments", headers=theirs.headers)):
        answer = await call
        assert answer.status_code == 403 and answer.json()["errcode"] == "FORBIDDEN", answer.text


async def test_a_closed_automatic_refund_is_tried_again_once_and_the_payer_told_when_the_money_is_back(
        api: httpx.AsyncClient, pdeps: Dependencies, wechat: SimControl, wxpay: PaySim, school: FeeSchool) -> None:
    child = school.children[0]
    mother, father = (await linked_parent(api, wechat, pdeps, school, child),
                      await linked_parent(api, wechat, pdeps, school, child))
    bill_id = school.bills[child.id]
    await wxpay.configure(auto_settle_refunds=False)
    first, second = await asyncio.gather(order_for(api, mother, bill_id), order_for(api, father, bill_id))
    ids = [first.json()["id"], second.json()["id"]]
    await asyncio.gather(*(wxpay.action("orders", number, "pay") for number in ids))  # both pay at once

    async def loser_processing() -> dict[str, Any] | None:
        for number in ids:
            doc = await pdeps.db["payment_orders"].find_one({"_id": number})
            if doc.get("late") and (doc.get("refund") or {}).get("state") == "processing":
                return doc
        return None

    loser = await eventually(loser_processing, within_s=10, what="the second payment being refunded")
    payer = mother if loser["person_id"] == mother.person_id else father
    await wxpay.post(f"refunds/R{loser['_id']}/settle", {"status": "CLOSED"})  # REFUND.CLOSED callback
    finance = await finance_staff(pdeps, school.school_id)
    late_url = f"/api/v1/schools/{school.school_id}/late-payments"

    async def listed_failed() -> list[dict[str, Any]] | None:
        items = (await api.get(late_url, headers=finance.headers, params={"refund_state": "failed"})).json()["items"]
        return items or None

    (failed,) = await eventually(listed_failed, within_s=10, what="the failed automatic refund listed")
    assert (failed["order_id"], failed["late_reason"], failed["failure"], failed["retryable"], failed["amount_fen"]) == (
        loser["_id"], "bill_paid_by_another_order", "CLOSED", True, 120_000)
    board = (await api.get(refunds_url(school, "/board"), headers=finance.headers)).json()
    assert board["automatic"]["failed"] == {"count": 1, "amount_fen": 120_000}
    assert [o["order_id"] for o in board["late_failed"]] == [loser["_id"]]

    retry_url = f"{late_url}/{loser['_id']}/refund/retry"
    answers = await asyncio.gather(*(api.post(retry_url, headers=finance.headers,
                                              json={"out_refund_no": f"R{loser['_id']}"}) for _ in range(3)))
    assert sorted(a.status_code for a in answers) == [200, 200, 201], [a.text for a in answers]
    again = next(a.json() for a in answers if a.status_code == 201)
    assert (again["out_refund_no"], again["attempt"], again["refund_state"]) == (
        f"R{loser['_id']}-2", 2, "processing")
    assert [(a["out_refund_no"], a["state"], a["failure"]) for a in again["previous_attempts"]] == [
        (f"R{loser['_id']}", "failed", "CLOSED")]
    (closed,) = (await wxpay.get("callbacks", out_refund_no=f"R{loser['_id']}"))["callbacks"]
    late_copy = await wxpay.post(f"callbacks/{closed['id']}/resend", {"times": 2})  # the old attempt's notice again
    assert [a["status"] for a in late_copy["attempts"]] == [204, 204]
    assert (await pdeps.db["payment_orders"].find_one({"_id": loser["_id"]}))["refund"]["state"] == "processing"
    wrong = await api.post(retry_url, headers=finance.headers, json={"out_refund_no": "R-NOT-OURS"})
    assert wrong.status_code == 404 and wrong.json()["errcode"] == "REFUND_NOT_FOUND"
    busy = await api.post(retry_url, headers=finance.headers, json={"out_refund_no": again["out_refund_no"]})
    assert busy.status_code == 409 and busy.json()["errcode"] == "REFUND_STATE_CONFLICT"  # still processing
    assert not await pdeps.db["outbox"].count_documents({"topic": "payment.returned", "data.order_id": loser["_id"]})

    await wxpay.post(f"refunds/{again['out_refund_no']}/settle", {"status": "SUCCESS"})

    async def returned() -> list[dict[str, Any]] | None:
        return await pdeps.db["outbox"].find({"topic": "payment.returned", "data.order_id": loser["_id"]}).to_list(
            None) or None

    (event,) = await eventually(returned, within_s=10, what="the payer told")
    assert event["recipients"] == [{"kind": "person", "id": payer.person_id}]
    assert {k: event["data"][k] for k in ("bill_id", "amount_fen", "refund_no", "reason_label", "student_name")} == {
        "bill_id": bill_id, "amount_fen": 120_000, "refund_no": f"R{loser['_id']}-2",
        "reason_label": "该账单已由另一笔付款缴清", "student_name": child.name}
    (callback,) = (await wxpay.get("callbacks", out_refund_no=again["out_refund_no"]))["callbacks"]
    storm = await wxpay.post(f"callbacks/{callback['id']}/resend", {"times": 5})  # duplicates tell nobody twice
    assert [a["status"] for a in storm["attempts"]] == [204] * 5
    assert len(await returned() or []) == 1
    done = (await api.get(late_url, headers=finance.headers, params={"refund_state": "refunded"})).json()["items"]
    assert [(o["order_id"], o["out_refund_no"]) for o in done] == [(loser["_id"], f"R{loser['_id']}-2")]
