"""Receipts issued in batches (payments/receipt_issuing.py `issue_many`, the path of a burst of callbacks): two
orders paid over HTTP whose receipts were never issued (as if the process died after the settlement commit) are
issued together with consecutive numbers, an id that is no paid order is dropped from the queue, and running the
batch again changes nothing."""

from __future__ import annotations

import httpx

from config.wiring import Dependencies
from core.ids import new_id
from tests.support.notify import eventually
from tests.support.payments import PaySim
from tests.support.school_fees import FeeSchool, linked_parent
from tests.support.school_payments import order_for, order_state
from tests.support.wechat import SimControl


async def test_a_batch_issues_what_is_owed_once_and_empties_the_queue(
        api: httpx.AsyncClient, pdeps: Dependencies, wechat: SimControl, wxpay: PaySim, school: FeeSchool) -> None:
    issuer, db = pdeps.payments.receipts, pdeps.db
    paid = []
    for child in school.children[:2]:
        parent = await linked_parent(api, wechat, pdeps, school, child)
        order = (await order_for(api, parent, school.bills[child.id])).json()
        assert (await wxpay.action("orders", order["id"], "pay")).status_code == 200
        await order_state(api, parent, order["id"], "paid")
        paid.append(order["id"])

    async def both_issued() -> bool | None:
        return await db["receipts"].count_documents({"out_trade_no": {"$in": paid}}) == 2 or None

    await eventually(both_issued, within_s=10, what="the receipts issued after the callbacks")
    await issuer.drain()
    # The process died after the settlement commits: the receipts are still owed, only the queue knows.
    await db["receipts"].delete_many({"out_trade_no": {"$in": paid}})
    stranger = new_id()
    for order_id in [*paid, stranger]:
        await issuer.queue.add(order_id)

    assert await issuer.issue_many([*paid, stranger]) == 2
    receipts = await db["receipts"].find({"out_trade_no": {"$in": paid}}).to_list(None)
    assert sorted(r["out_trade_no"] for r in receipts) == sorted(paid)
    numbers = sorted(int(r["_id"][-6:]) for r in receipts)
    assert numbers[1] == numbers[0] + 1  # one block of the day's numbers
    assert await db["receipt_queue"].count_documents({"_id": {"$in": [*paid, stranger]}}) == 0

    assert await issuer.issue_many(paid) == 2  # again: the same receipts, nothing new
    assert sorted(r["_id"] for r in await db["receipts"].find({"out_trade_no": {"$in": paid}}).to_list(None)) == \
        sorted(r["_id"] for r in receipts)
