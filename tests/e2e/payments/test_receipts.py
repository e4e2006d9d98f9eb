"""E-receipts over HTTP: a parent pays by WeChat Pay (simulator, real SDK), exactly one receipt is issued in the
background of the callback (duplicate deliveries change nothing), its PDF downloads with the amount in Chinese
capitals, the public check behind the QR code says genuine for the right code only and shows nothing about the
student, another family gets 404; the check is limited per IP."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from config.wiring import Dependencies
from core.errors import AppError
from tests.support.notify import eventually
from tests.support.payments import PaySim
from tests.support.school_fees import FeeSchool, linked_parent
from tests.support.school_payments import order_for, order_state
from tests.support.wechat import SimControl

VERIFY = "/api/v1/receipts/verify"


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    return reader.pages[0].extract_text()


async def test_a_paid_bill_gets_one_receipt_a_pdf_and_a_public_check(
        api: httpx.AsyncClient, pdeps: Dependencies, wechat: SimControl, wxpay: PaySim, school: FeeSchool) -> None:
    child = school.children[0]
    parent = await linked_parent(api, wechat, pdeps, school, child)
    bill_id = school.bills[child.id]
    unpaid = await api.get(f"/api/v1/me/bills/{bill_id}/receipt", headers=parent.headers)
    assert unpaid.status_code == 404 and unpaid.json()["errcode"] == "RECEIPT_NOT_FOUND"

    order = (await order_for(api, parent, bill_id)).json()
    assert (await wxpay.action("orders", order["id"], "pay")).status_code == 200
    await order_state(api, parent, order["id"], "paid")

    async def issued() -> dict[str, Any] | None:
        return await pdeps.db["receipts"].find_one({"out_trade_no": order["id"]})

    doc = await eventually(issued, within_s=10, what="the receipt issued after the callback")
    assert await pdeps.db["receipt_queue"].count_documents({"_id": order["id"]}) == 0
    (callback,) = (await wxpay.get("callbacks", out_trade_no=order["id"]))["callbacks"]
    await wxpay.post(f"callbacks/{callback['id']}/resend", {"times": 5})  # WeChat Pay sends it again, 5 times
    await pdeps.payments.receipts.drain()
    assert await pdeps.db["receipts"].count_documents({"out_trade_no": order["id"]}) == 1

    receipt = (await api.get(f"/api/v1/me/bills/{bill_id}/receipt", headers=parent.headers)).json()
    assert receipt["number"] == doc["_id"] and receipt["number"].startswith("ZSB")
    assert (receipt["out_trade_no"], receipt["channel"], receipt["total_fen"], receipt["total_capitals"]) == (
        order["id"], "wechatpay", 120_000, "壹仟贰佰元整")
    assert receipt["student_name"] == child.name and receipt["school_name"].startswith("宁乡市测试小学")
    assert receipt["items"][0]["note"] == "2026年秋季学期"
    assert receipt["payer"] == "—"  # a WeChat-only parent has neither a bound name nor a phone to print (masked)
    assert receipt["verify_url"].endswith(f"{VERIFY}?no={receipt['number']}&code={receipt['code']}")

    pdf = await api.get(f"/api/v1/me/bills/{bill_id}/receipt/pdf", headers=parent.headers)
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-") and f"{receipt['number']}.pdf" in pdf.headers["Content-Disposition"]
    text = pdf_text(pdf.content)
    assert "壹仟贰佰元整" in text and receipt["number"] in text and child.name in text

    right = await api.get(VERIFY, params={"no": receipt["number"], "code": receipt["code"].lower()})
    assert right.status_code == 200, right.text
    assert right.json() == {"genuine": True, "message": "票据真实有效", "receipt": {
        "kind": "receipt", "number": receipt["number"], "payer": receipt["payer"], "amount_fen": 120_000,
        "amount_yuan": "1200.00", "paid_at": right.json()["receipt"]["paid_at"], "refunded_at": None,
        "school_name": receipt["school_name"], "credit_state": "none", "credited_fen": 0, "original_number": None}}
    assert child.name not in right.text and order["id"] not in right.text
    wrong_code = receipt["code"][:-1] + ("0" if receipt["code"][-1] != "0" else "1")
    for params in ({"no": receipt["number"], "code": wrong_code}, {"no": "ZSB20260101999999", "code": receipt["code"]}):
        answer = await api.get(VERIFY, params=params)
        assert answer.status_code == 200 and answer.json()["genuine"] is False and answer.json()["receipt"] is None
    missing = await api.get(VERIFY, params={"no": receipt["number"]})
    assert missing.status_code == 422 and [e["field"] for e in missing.json()["errors"]] == ["code"]

    other = await linked_parent(api, wechat, pdeps, school, school.children[1])  # another family
    for path in (f"/api/v1/me/bills/{bill_id}/receipt", f"/api/v1/me/bills/{bill_id}/receipt/pdf"):
        refused = await api.get(path, headers=other.headers)
        assert refused.status_code == 404 and refused.json()["errcode"] == "RESOURCE_NOT_FOUND"


async def test_the_public_check_is_limited_per_ip(pdeps: Dependencies) -> None:
    desk = pdeps.payment_records.receipts
    ip = f"203.0.113.{id(desk) % 250 + 1}"  # a documentation address of its own: other tests keep their quota
    for i in range(20):
        checked = await desk.check("ZSB20260101000001" if i % 2 else "ZSBH20260101000001", "AAAAA-AAAAA", ip=ip)
        assert checked.receipt is None and checked.note is None  # receipts and credit notes count alike
    with pytest.raises(AppError) as refused:
        await desk.check("ZSB20260101000001", "AAAAA-AAAAA", ip=ip)
    assert refused.value.error.code == "RECEIPT_CHECKS_EXCEEDED" and int(refused.value.headers["Retry-After"]) >= 1
