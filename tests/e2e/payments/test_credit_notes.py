"""Credit notes (红字票据) over HTTP with the WeChat Pay simulator: a partial refund of a paid bill settles → exactly
one credit note (ten duplicate refund callbacks, a second settlement and concurrent issues change nothing) →
the parent reads it and downloads its PDF, the receipt says 部分冲红, the public check answers for both → the
rest refunded → a second credit note, the receipt 全额冲红; another family 404, another school's staff 403."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from config.wiring import Dependencies
from payments.credit_note_issuing import refunded_of
from tests.e2e.payments.test_receipts import VERIFY, pdf_text
from tests.support.notify import eventually
from tests.support.payments import PaySim
from tests.support.school_fees import FeeSchool, linked_parent
from tests.support.school_refunds import finance_staff, paid_family, refunded_in_part
from tests.support.wechat import SimControl


async def credit_notes_of(deps: Dependencies, refund_id: str) -> list[dict[str, Any]]:
    return await deps.db["credit_notes"].find({"refund_id": refund_id}).to_list(None)


async def test_a_settled_refund_gets_one_credit_note_the_parent_downloads_and_anyone_can_check(
        api: httpx.AsyncClient, pdeps: Dependencies, wechat: SimControl, wxpay: PaySim, school: FeeSchool) -> None:
    child, parent, bill_id, order, asker, approver = await paid_family(api, pdeps, wechat, school, wxpay)
    receipt = await eventually(lambda: pdeps.db["receipts"].find_one({"out_trade_no": order["id"]}), within_s=10,
                               what="the receipt")

    refund = await refunded_in_part(api, school, bill_id, 30_000, asker, approver)
    (stored,) = await eventually(lambda: credit_notes_of(pdeps, refund["id"]), within_s=10, what="the credit note")
    assert stored["_id"].startswith("ZSBH") and stored["original_number"] == receipt["_id"]
    assert (stored["total_fen"], stored["reason"], stored["out_refund_no"]) == (
        -30_000, "学生转学，退还部分费用", refund["out_refund_no"])
    assert await pdeps.db["credit_note_queue"].count_documents({"_id": refund["id"]}) == 0

    # Exactly once: the provider's ten duplicate callbacks, a settlement run again, five issues at the same time.
    (callback,) = (await wxpay.get("callbacks", out_refund_no=refund["out_refund_no"]))["callbacks"]
    storm = await wxpay.post(f"callbacks/{callback['id']}/resend", {"times": 10})
    assert [a["status"] for a in storm["attempts"]] == [204] * 10
    assert await pdeps.payments.refunds.settlement.succeed(refund["id"], source="query") is False
    doc = await pdeps.db["payment_refunds"].find_one({"_id": refund["id"]})
    issuer = pdeps.payments.credit_notes
    original = await pdeps.payments.receipts.book.of_order(order["id"])
    assert original is not None
    again = await asyncio.gather(*(issuer.book.issue(original, refunded_of(doc)) for _ in range(5)),
                                 issuer.issue_for(refund["id"]))
    assert {n.number for n in again} == {stored["_id"]}
    assert len(await credit_notes_of(pdeps, refund["id"])) == 1

    mine = (await api.get(f"/api/v1/me/bills/{bill_id}/receipt", headers=parent.headers)).json()
    assert (mine["number"], mine["total_fen"], mine["credit_state"], mine["credit_state_label"], mine["credited_fen"]) == (
        receipt["_id"], 120_000, "partial", "部分冲红", 30_000)
    assert [n["number"] for n in mine["credit_notes"]] == [stored["_id"]]
    notes = (await api.get(f"/api/v1/me/bills/{bill_id}/credit-notes", headers=parent.headers)).json()["items"]
    assert [(n["number"], n["total_fen"], n["total_yuan"], n["total_capitals"], n["original_number"]) for n in notes] == [
        (stored["_id"], -30_000, "-300.00", "（负数）叁佰元整", receipt["_id"])]
    note = notes[0]
    assert note["verify_url"].endswith(f"{VERIFY}?no={note['number']}&code={note['code']}")

    pdf = await api.get(f"/api/v1/me/bills/{bill_id}/credit-notes/{note['number']}/pdf", headers=parent.headers)
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf", pdf.text
    assert f"{note['number']}.pdf" in pdf.headers["Content-Disposition"]
    text = pdf_text(pdf.content)
    for expected in ("红字·冲红", note["number"], "（负数）叁佰元整", f"原票据号码：{receipt['_id']}", note["code"]):
        assert expected in text, expected
    receipt_pdf = await api.get(f"/api/v1/me/bills/{bill_id}/receipt/pdf", headers=parent.headers)
    assert f"已部分冲红 ¥300.00（红字票据 {note['number']}）" in pdf_text(receipt_pdf.content)

    checked = (await api.get(VERIFY, params={"no": note["number"], "code": note["code"].lower()})).json()
    assert checked["genuine"] is True and receipt["_id"] in checked["message"]
    assert {k: checked["receipt"][k] for k in ("kind", "number", "amount_fen", "original_number", "paid_at")} == {
        "kind": "credit_note", "number": note["number"], "amount_fen": -30_000, "original_number": receipt["_id"],
        "paid_at": None}
    assert child.name not in str(checked)
    wrong = await api.get(VERIFY, params={"no": note["number"], "code": receipt["code"]})
    assert wrong.json()["genuine"] is False
    of_receipt = (await api.get(VERIFY, params={"no": receipt["_id"], "code": receipt["code"]})).json()
    assert (of_receipt["receipt"]["credit_state"], of_receipt["receipt"]["credited_fen"]) == ("partial", 30_000)
    assert "已部分冲红" in of_receipt["message"]

    school_pdf = await api.get(f"/api/v1/schools/{school.school_id}/bills/{bill_id}/credit-notes/{note['number']}/pdf",
                               headers=asker.headers)
    assert school_pdf.status_code == 200 and school_pdf.content.startswith(b"%PDF-")
    other_school = await finance_staff(pdeps, "12430182MB" + school.school_id[10:])
    refused = await api.get(f"/api/v1/schools/{school.school_id}/bills/{bill_id}/credit-notes/{note['number']}/pdf",
                            headers=other_school.headers)
    assert refused.status_code == 403 and refused.json()["errcode"] == "FORBIDDEN"
    other = await linked_parent(api, wechat, pdeps, school, school.children[1])  # another family
    for path in (f"/api/v1/me/bills/{bill_id}/credit-notes", f"/api/v1/me/bills/{bill_id}/credit-notes/{note['number']}/pdf"):
        answer = await api.get(path, headers=other.headers)
        assert answer.status_code == 404 and answer.json()["errcode"] == "RESOURCE_NOT_FOUND", path
    other_bill = school.bills[school.children[1].id]  # a number that is not of that bill
    missing = await api.get(f"/api/v1/me/bills/{other_bill}/credit-notes/{note['number']}/pdf", headers=other.headers)
    assert missing.status_code == 404 and missing.json()["errcode"] == "RECEIPT_NOT_FOUND"  # nothing paid there
    unknown = await api.get(f"/api/v1/me/bills/{bill_id}/credit-notes/ZSBH20200101000001/pdf", headers=parent.headers)
    assert unknown.status_code == 404 and unknown.json()["errcode"] == "CREDIT_NOTE_NOT_FOUND"

    # The rest goes back too: a second credit note, the receipt now fully 冲红, the bill refunded.
    rest = await refunded_in_part(api, school, bill_id, 90_000, approver, asker, reason="学生退学，退还余款")
    (second,) = await eventually(lambda: credit_notes_of(pdeps, rest["id"]), within_s=10, what="the second note")
    assert second["_id"] != stored["_id"] and second["total_fen"] == -90_000
    full = (await api.get(f"/api/v1/me/bills/{bill_id}/receipt", headers=parent.headers)).json()
    assert (full["credit_state"], full["credited_fen"], len(full["credit_notes"])) == ("full", 120_000, 2)
    assert (await api.get(f"/api/v1/me/bills/{bill_id}", headers=parent.headers)).json()["state"] == "refunded"
    assert "已全额冲红 ¥1,200.00" in pdf_text(
        (await api.get(f"/api/v1/me/bills/{bill_id}/receipt/pdf", headers=parent.headers)).content)
