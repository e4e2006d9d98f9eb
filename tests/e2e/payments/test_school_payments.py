"""Paying school fees end to end over HTTP: a school, its roster, a fee item approved by both departments, its
bills; a parent links the child, creates an order, the simulator (real SDKs on our side) takes the money and
calls back our notify endpoint, the bill is paid. Then everything that must NOT change a state: forged,
misattributed, stale, replayed and duplicated callbacks, another family's bill, two orders for one bill."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from config.settings import Settings
from config.wiring import Dependencies
from payments.keys import new_private_key
from tests.support.notify import eventually
from tests.support.payments import PaySim
from tests.support.school_fees import FeeSchool, linked_parent
from tests.support.school_payments import (
    ALIPAY_MINI,
    NOTIFY,
    bill_paid_events,
    link_alipay,
    order_for,
    order_state,
    signed_callback,
    transaction,
)
from tests.support.wechat import SimControl


async def test_parent_links_child_and_pays_by_wechatpay(
        api: httpx.AsyncClient, pdeps: Dependencies, wechat: SimControl, wxpay: PaySim, school: FeeSchool) -> None:
    child = school.children[0]
    parent = await linked_parent(api, wechat, pdeps, school, child)
    bill_id = school.bills[child.id]
    bills = (await api.get(f"/api/v1/me/children/{child.id}/bills", headers=parent.headers)).json()["items"]
    assert [(b["id"], b["state"], b["amount_fen"]) for b in bills] == [(bill_id, "unpaid", 120_000)]

    created = await order_for(api, parent, bill_id, key="k-wx-1")
    assert created.status_code == 201, created.text
    order = created.json()
    assert (order["state"], order["channel"], order["amount_fen"], order["amount_yuan"]) == (
        "paying", "wechatpay", 120_000, "1200.00")
    assert order["request_payment"]["package"].startswith("prepay_id=") and order["request_payment"]["paySign"]
    again = await order_for(api, parent, bill_id, key="k-wx-1")  # the phone retried: same order, re-signed
    assert again.status_code == 200 and again.json()["id"] == order["id"]
    assert again.json()["request_payment"]["package"] == order["request_payment"]["package"]
    reused = await order_for(api, parent, bill_id, key="k-wx-1", channel="alipay")
    assert reused.status_code == 422 and reused.json()["errcode"] == "IDEMPOTENCY_KEY_REUSED"
    assert await pdeps.db["payment_orders"].count_documents({"bill_id": bill_id}) == 1

    assert (await wxpay.action("orders", order["id"], "pay")).status_code == 200  # the parent pays on the phone
    paid = await order_state(api, parent, order["id"], "paid")
    assert paid["paid_at"] is not None
    bill = (await api.get(f"/api/v1/me/bills/{bill_id}", headers=parent.headers)).json()
    assert (bill["state"], bill["paid_at"] is not None) == ("paid", True)
    callbacks = (await wxpay.get("callbacks", out_trade_no=order["id"]))["callbacks"]
    assert callbacks[0]["state"] == "delivered" and callbacks[0]["attempts"][0]["status"] == 204
    assert await bill_paid_events(pdeps, bill_id) == 1
    more = await order_for(api, parent, bill_id)
    assert more.status_code == 409 and more.json()["errcode"] == "BILL_STATE_CONFLICT"


async def test_parent_pays_by_alipay(api: httpx.AsyncClient, pdeps: Dependencies, wechat: SimControl,
                                     alipay: PaySim, school: FeeSchool) -> None:
    child = school.children[1]
    parent = await linked_parent(api, wechat, pdeps, school, child)
    bill_id = school.bills[child.id]
    wap = await order_for(api, parent, bill_id, channel="alipay")  # first in the browser (H5): the WAP URL
    assert wap.status_code == 201 and wap.json()["alipay_pay_url"].startswith("http")
    buyer = await link_alipay(api, parent, alipay)  # then the Alipay mini-program: login, the payer's open id
    created = await order_for(api, parent, bill_id, key="k-ali-1", **ALIPAY_MINI)
    assert created.status_code == 201, created.text
    order = created.json()
    assert order["mode"] == "mini" and len(order["alipay_trade_no"]) == 28
    assert (await alipay.get(f"trades/{order['id']}"))["buyer_open_id"] == buyer["open_id"]
    replaced = (await api.get(f"/api/v1/me/orders/{wap.json()['id']}", headers=parent.headers)).json()
    assert (replaced["state"], replaced["closed_reason"]) == ("closed", "superseded")  # never opened at Alipay
    assert (await alipay.action("trades", order["id"], "pay")).status_code == 200
    await order_state(api, parent, order["id"], "paid")
    bill = (await api.get(f"/api/v1/me/bills/{bill_id}", headers=parent.headers)).json()
    assert bill["state"] == "paid"
    notifies = (await alipay.get("notifications", out_trade_no=order["id"]))["notifications"]
    assert notifies[0]["state"] == "delivered"
    assert (await alipay.action("trades", order["id"], "finish")).status_code == 200  # TRADE_FINISHED later
    await asyncio.sleep(0.2)
    assert await bill_paid_events(pdeps, bill_id) == 1


async def test_another_familys_bill_and_order_are_not_found(
        api: httpx.AsyncClient, pdeps: Dependencies, wechat: SimControl, wxpay: PaySim, school: FeeSchool) -> None:
    mine, theirs = school.children
    me = await linked_parent(api, wechat, pdeps, school, mine)
    them = await linked_parent(api, wechat, pdeps, school, theirs)
    refused = await order_for(api, me, school.bills[theirs.id])
    assert refused.status_code == 404 and refused.json()["errcode"] == "RESOURCE_NOT_FOUND"
    missing = await order_for(api, me, "01J00000000000000000000000")
    assert missing.json()["errcode"] == refused.json()["errcode"]
    their_order = (await order_for(api, them, school.bills[theirs.id])).json()
    peek = await api.get(f"/api/v1/me/orders/{their_order['id']}", headers=me.headers)
    assert peek.status_code == 404 and peek.json()["errcode"] == "RESOURCE_NOT_FOUND"
    assert await pdeps.db["payment_orders"].count_documents({"bill_id": school.bills[theirs.id]}) == 1


async def test_callback_attacks_change_nothing_and_duplicates_apply_once(
        api: httpx.AsyncClient, pdeps: Dependencies, wechat: SimControl, wxpay: PaySim, school: FeeSchool,
        settings: Settings, log_path: Any) -> None:
    child = school.children[0]
    parent = await linked_parent(api, wechat, pdeps, school, child)
    bill_id = school.bills[child.id]
    order = (await order_for(api, parent, bill_id)).json()
    number, total = order["id"], order["amount_fen"]

    def post(headers: dict[str, str], body: bytes) -> Any:
        return api.post(NOTIFY, headers=headers, content=body)

    good_headers, good_body = signed_callback(settings, transaction(settings, number, total))
    attacks = {
        "forged signature": signed_callback(settings, transaction(settings, number, total), key=new_private_key()),
        "wrong serial": signed_callback(settings, transaction(settings, number, total),
                                        key_id="PUB_KEY_ID_0000000000000000000000000000000000"),
        "stale timestamp": signed_callback(settings, transaction(settings, number, total),
                                           timestamp=int(time.time()) - 301),
        "amount mismatch": signed_callback(settings, transaction(settings, number, total - 1)),
        "appid mismatch": signed_callback(settings, transaction(settings, number, total,
                                                                appid=settings.wechat_oa_appid)),
        "unknown out_trade_no": signed_callback(settings, transaction(settings, "01J99999999999999999999999", total)),
        "altered body": (good_headers, good_body.replace(b'"summary":"', b'"summary":"!')),
    }
    for what, (headers, body) in attacks.items():
        answer = await post(headers, body)
        assert 400 <= answer.status_code < 500, what
        assert answer.json()["code"] == "FAIL", what
        current = (await api.get(f"/api/v1/me/orders/{number}", headers=parent.headers)).json()
        assert current["state"] == "paying", what
    log = log_path.read_text()
    for reason in ("bad_signature", "wrong_serial", "stale_timestamp", "amount_mismatch", "appid_mismatch",
                   "unknown_out_trade_no"):
        assert f'"reason": "{reason}"' in log or f'"reason":"{reason}"' in log, reason
    assert good_body.decode() not in log

    await wxpay.action("orders", number, "pay")  # the real one
    await order_state(api, parent, number, "paid")
    (callback,) = (await wxpay.get("callbacks", out_trade_no=number))["callbacks"]
    storm = await wxpay.post(f"callbacks/{callback['id']}/resend", {"times": 10})  # ten duplicates at once
    assert [a["status"] for a in storm["attempts"]] == [204] * 10
    replay = await post(good_headers, good_body)  # our own forged-free replay of another notice for the order
    assert replay.status_code == 204
    # A settled order is remembered by the process (duplicates need no database): other facts are still refused.
    for what in ("amount mismatch", "appid mismatch"):
        assert (await post(*signed_callback(settings, transaction(
            settings, number, total - 1 if what == "amount mismatch" else total,
            **({"appid": settings.wechat_oa_appid} if what == "appid mismatch" else {}))))).status_code == 400, what
    stored = await pdeps.db["payment_orders"].find_one({"_id": number})
    assert stored["version"] == 2 and stored["payment"]["source"] == "callback"  # created → paying → paid, once
    bill = await pdeps.db["bills"].find_one({"_id": bill_id})
    assert (bill["state"], bill["version"]) == ("paid", 1)
    assert await bill_paid_events(pdeps, bill_id) == 1


async def test_two_orders_for_one_bill_only_one_is_paid_and_the_other_refunded(
        api: httpx.AsyncClient, pdeps: Dependencies, wechat: SimControl, wxpay: PaySim, school: FeeSchool) -> None:
    child = school.children[0]
    mother = await linked_parent(api, wechat, pdeps, school, child)
    father = await linked_parent(api, wechat, pdeps, school, child)
    bill_id = school.bills[child.id]
    first, second = await asyncio.gather(order_for(api, mother, bill_id), order_for(api, father, bill_id))
    ids = [first.json()["id"], second.json()["id"]]
    assert first.status_code == second.status_code == 201 and ids[0] != ids[1]
    paid = await asyncio.gather(*(wxpay.action("orders", number, "pay") for number in ids))  # both pay at once
    assert [p.status_code for p in paid] == [200, 200]

    async def settled() -> list[dict[str, Any]] | None:
        docs = [await pdeps.db["payment_orders"].find_one({"_id": n}) for n in ids]
        return docs if all(d["state"] in ("paid", "closed") for d in docs) else None

    docs = await eventually(settled, within_s=10, what="both orders settled")
    assert sorted(d["state"] for d in docs) == ["closed", "paid"]
    loser = next(d for d in docs if d["state"] == "closed")
    winner = next(d for d in docs if d["state"] == "paid")
    assert loser["late"] and loser["closed_reason"] == "bill_paid_by_another_order"
    bill = await pdeps.db["bills"].find_one({"_id": bill_id})
    assert bill["payment"]["order_id"] == winner["_id"]

    async def refunded() -> dict[str, Any] | None:
        doc = await pdeps.db["payment_orders"].find_one({"_id": loser["_id"]})
        return doc if doc["refund"]["state"] == "refunded" else None

    done = await eventually(refunded, within_s=10, what="the loser refunded (refund callback)")
    assert done["refund"]["amount_fen"] == 120_000
    sim_order = await wxpay.get(f"orders/{loser['_id']}")
    assert [r["status"] for r in sim_order["refunds"]] == ["SUCCESS"]
    assert (await wxpay.get(f"orders/{winner['_id']}"))["refunds"] == []
    assert await bill_paid_events(pdeps, bill_id) == 1
