"""Credit notes (红字票据): numbers, negative amounts bound into the code, what a receipt shows once 冲红, and the
page: marked 红字·冲红, negative amounts, the original number, every glyph present, the QR code readable."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pypdfium2
import pytest
import zxingcpp
from pypdf import PdfReader

from payments.credit_note_pdf import credit_note_pdf_bytes, credit_note_texts, credit_remark
from payments.credit_notes import (
    CreditNote,
    Refunded,
    build_credit_note,
    credit_note_number,
    credit_status,
    is_credit_note_number,
)
from payments.receipt_pdf import missing_glyphs, receipt_pdf_bytes
from payments.receipts import ReceiptItem, build_receipt, payer_label, receipt_code, verification_url, verify
from tests.unit.test_receipts import BASE, KEY, PAID, payment

SETTLED = datetime(2025, 9, 2, 1, 5, 6, tzinfo=UTC)  # 09:05:06 in Asia/Shanghai


def receipt():  # one item of 1,200 yuan, as a bill makes it
    p = payment(items=(ReceiptItem("学费", 120_000, "2025年秋季学期"),))
    return build_receipt(p, "ZSB20250901000123", KEY, PAID + timedelta(seconds=2))


def refunded(amount_fen: int = 30_000, refund_id: str = "01K4ZR0000000000000000RF01", **changes: object) -> Refunded:
    values: dict[str, object] = dict(refund_id=refund_id, out_refund_no=f"RF{refund_id}",
                                     out_trade_no="01K4ZQ3V9ST5XWJ8M2N6P7R0AB", amount_fen=amount_fen,
                                     reason="学生转学，退还部分费用", settled_at=SETTLED, provider_refund_id="50300001")
    values.update(changes)
    return Refunded(**values)  # type: ignore[arg-type]


def note(amount_fen: int = 30_000, sequence: int = 1, **changes: object) -> CreditNote:
    r = refunded(amount_fen, **changes)
    return build_credit_note(receipt(), r, credit_note_number(r.settled_at, sequence), KEY, SETTLED + timedelta(seconds=1))


def page_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    return reader.pages[0].extract_text()


def test_a_credit_note_is_negative_names_its_receipt_and_has_its_own_number_and_code() -> None:
    n = note()
    assert n.number == "ZSBH20250902000001" and is_credit_note_number(n.number)
    assert not is_credit_note_number(receipt().number)
    assert (n.total_fen, [i.amount_fen for i in n.items]) == (-30_000, [-30_000])
    assert (n.original_number, n.out_trade_no, n.channel, n.payer) == (
        "ZSB20250901000123", receipt().out_trade_no, "wechatpay", payer_label("陈志强", "13812345678"))
    assert n.code == receipt_code(KEY, n.number, -30_000, SETTLED)
    assert verify([KEY], n.number, -30_000, SETTLED, n.code.lower())
    assert not verify([KEY], n.number, 30_000, SETTLED, n.code)  # the sign is part of what is signed
    assert n.code != receipt().code


@pytest.mark.parametrize("bad", [dict(amount_fen=0), dict(amount_fen=120_001), dict(out_trade_no="01OTHER"),
                                 dict(settled_at=datetime(2025, 9, 2, 9, 5))])
def test_a_credit_note_cannot_exceed_or_miss_its_receipt(bad: dict[str, object]) -> None:
    r = refunded(**bad)
    with pytest.raises(ValueError):
        build_credit_note(receipt(), r, "ZSBH20250902000001", KEY, SETTLED)


def test_a_receipt_shows_how_much_of_it_was_credited() -> None:
    r = receipt()
    assert credit_status(r, []).state == "none" and credit_remark(credit_status(r, [])) == ""
    first = note(30_000)
    partial = credit_status(r, [first])
    assert (partial.state, partial.label, partial.credited_fen) == ("partial", "部分冲红", 30_000)
    rest = note(90_000, 2, refund_id="01K4ZR0000000000000000RF02")
    full = credit_status(r, [rest, first])
    assert (full.state, full.credited_fen, [n.number for n in full.notes]) == (
        "full", 120_000, ["ZSBH20250902000001", "ZSBH20250902000002"])
    assert credit_remark(full) == "已全额冲红 ¥1,200.00（红字票据 ZSBH20250902000001、ZSBH20250902000002）"


def test_the_page_is_marked_red_and_negative_and_names_the_original() -> None:
    n = note()
    text = page_text(credit_note_pdf_bytes(n, BASE))
    for expected in ("红字·冲红", "学校缴费电子票据（红字）", n.number, "（负数）叁佰元整", "-¥300.00",
                     "原票据号码：ZSB20250901000123", f"退款单号：{n.out_refund_no}", "冲红原因：学生转学，退还部分费用",
                     "退款时间：2025-09-02 09:05:06（北京时间）", "微信支付", f"校验码 {n.code}",
                     verification_url(BASE, n.number, n.code), "陈*强（138****5678）"):
        assert expected in text, expected
    assert "13812345678" not in text
    assert missing_glyphs(credit_note_texts(n, verification_url(BASE, n.number, n.code))) == set()
    assert credit_note_pdf_bytes(n, BASE) == credit_note_pdf_bytes(n, BASE)  # deterministic


def test_the_credit_notes_qr_code_is_the_receipts_verification_url() -> None:
    n = note()
    image = pypdfium2.PdfDocument(credit_note_pdf_bytes(n, BASE))[0].render(scale=200 / 72).to_pil().convert("L")
    assert [b.text for b in zxingcpp.read_barcodes(image)] == [
        f"{BASE}/api/v1/receipts/verify?no={n.number}&code={n.code}"]


def test_a_credited_receipt_says_so_on_its_page() -> None:
    r = receipt()
    text = page_text(receipt_pdf_bytes(r, BASE, credit_remark(credit_status(r, [note()]))))
    assert "已部分冲红 ¥300.00（红字票据 ZSBH20250902000001）" in text
    assert "冲红" not in page_text(receipt_pdf_bytes(r, BASE))
