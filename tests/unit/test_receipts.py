"""E-receipts: data → PDF (text, CJK glyphs, QR), verification codes, numbers, masking."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pypdfium2
import pytest
import zxingcpp
from pypdf import PdfReader

from payments.receipt_pdf import missing_glyphs, receipt_pdf_bytes, receipt_texts, render_receipt_pdf
from payments.receipts import (
    Payment,
    ReceiptItem,
    build_receipt,
    mask_name,
    normalize_code,
    parse_code_keys,
    payer_label,
    receipt_code,
    receipt_number,
    verification_url,
    verify,
)

KEY = b"unit-test-receipt-key-0001"
BASE = "https://zsb.example.gov.cn"
PAID = datetime(2025, 9, 1, 2, 23, 45, 678_901, tzinfo=UTC)  # 10:23:45 in Asia/Shanghai


def payment(**changes: object) -> Payment:
    values: dict[str, object] = dict(
        out_trade_no="01K4ZQ3V9ST5XWJ8M2N6P7R0AB", channel="wechatpay",
        transaction_id="4200002025090112345678901234", paid_at=PAID, payer_name="陈志强",
        payer_phone="13812345678", student_name="陈小明", student_no="2025070301",
        school_name="宁乡市玉潭镇第一初级中学", class_name="七年级（3）班",
        items=(ReceiptItem("学费", 120000, "2025年秋季学期"), ReceiptItem("作业本费", 50)), bill_id="01K4ZQ")
    values.update(changes)
    return Payment(**values)  # type: ignore[arg-type]


def receipt(**changes: object):
    p = payment(**changes)
    return build_receipt(p, receipt_number(p.paid_at, 123), KEY, PAID + timedelta(seconds=2))


def page_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    return reader.pages[0].extract_text()


def test_pdf_text_has_number_capitals_masked_payer_and_payment_facts() -> None:
    r = receipt()
    pdf = receipt_pdf_bytes(r, BASE)
    assert pdf.startswith(b"%PDF-")
    text = page_text(pdf)
    assert "学校缴费电子票据" in text
    assert "ZSB20250901000123" in text
    assert "壹仟贰佰元伍角整" in text  # 120050 fen: 1,200.50
    assert "¥1,200.50" in text and "¥1,200.00" in text and "¥0.50" in text
    assert "陈*强（138****5678）" in text
    assert "13812345678" not in text and "陈志强" not in text
    assert "陈小明" in text and "宁乡市玉潭镇第一初级中学" in text and "七年级（3）班" in text
    assert "2025-09-01 10:23:45（北京时间）" in text
    assert "微信支付" in text and "4200002025090112345678901234" in text and "01K4ZQ3V9ST5XWJ8M2N6P7R0AB" in text
    assert f"校验码 {r.code}" in text
    assert verification_url(BASE, r.number, r.code) in text


def test_alipay_receipt_names_the_channel() -> None:
    text = page_text(receipt_pdf_bytes(receipt(channel="alipay", transaction_id="2025090122001400001234567890"), BASE))
    assert "支付渠道：支付宝" in text and "2025090122001400001234567890" in text


def test_every_printed_character_has_a_glyph_and_a_missing_one_is_found() -> None:
    r = receipt(student_name="欧阳娜娜", items=(ReceiptItem("住宿费（含空调、热水）", 98765, "2025—2026学年"),))
    assert missing_glyphs(receipt_texts(r, verification_url(BASE, r.number, r.code))) == set()
    assert missing_glyphs(["陈\U0001F600", "𪚥"]) == {"\U0001F600", "𪚥"}  # an emoji, a CJK Ext-B character


def test_qr_code_on_the_rendered_page_encodes_the_verification_url() -> None:
    r = receipt()
    document = pypdfium2.PdfDocument(receipt_pdf_bytes(r, BASE))
    image = document[0].render(scale=200 / 72).to_pil().convert("L")
    found = zxingcpp.read_barcodes(image)
    assert [(b.format, b.text) for b in found] == [
        (zxingcpp.BarcodeFormat.QRCode, f"{BASE}/api/v1/receipts/verify?no={r.number}&code={r.code}")]


async def test_async_rendering_gives_the_same_bytes_every_time() -> None:
    r = receipt()
    assert await render_receipt_pdf(r, BASE) == receipt_pdf_bytes(r, BASE)


def test_code_is_short_typeable_and_bound_to_number_amount_and_time() -> None:
    r = receipt()
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}", r.code)
    assert r.total_fen == 120050
    assert verify([KEY], r.number, 120050, PAID, r.code)
    assert verify([KEY], r.number, 120050, PAID.replace(microsecond=0), r.code)  # to the second
    assert verify([KEY], r.number, 120050, PAID.astimezone(r.paid_at_local.tzinfo), r.code)
    assert not verify([KEY], r.number, 120051, PAID, r.code)
    assert not verify([KEY], r.number, 120050, PAID + timedelta(seconds=1), r.code)
    assert not verify([KEY], "ZSB20250901000124", 120050, PAID, r.code)
    assert not verify([b"another-key-of-16-chars"], r.number, 120050, PAID, r.code)
    assert not verify([KEY], r.number, 120050, PAID, "")
    assert not verify([KEY], r.number, 120050, PAID, "ABCDE-FGHJK-1")


def test_typed_codes_are_forgiven_case_hyphens_and_look_alikes() -> None:
    code = receipt_code(KEY, "ZSB20250901000123", 120050, PAID)
    sloppy = code.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    assert normalize_code(sloppy) == code
    assert verify([KEY], "ZSB20250901000123", 120050, PAID, sloppy)
    assert normalize_code("UUUUU-UUUUU") == ""  # U is not in Crockford's alphabet


def test_key_rotation_new_key_signs_old_key_still_verifies() -> None:
    old, new = parse_code_keys("old-receipt-key-000001"), parse_code_keys("new-receipt-key-000002,old-receipt-key-000001")
    code_old = receipt_code(old[0], "ZSB20250901000001", 100, PAID)
    code_new = receipt_code(new[0], "ZSB20250901000002", 100, PAID)
    assert verify(new, "ZSB20250901000001", 100, PAID, code_old)
    assert verify(new, "ZSB20250901000002", 100, PAID, code_new)
    assert not verify(old, "ZSB20250901000002", 100, PAID, code_new)
    for bad in ("", "short", "long-enough-key-0001,short"):
        with pytest.raises(ValueError):
            parse_code_keys(bad)
    with pytest.raises(ValueError):
        receipt_code(KEY, "ZSB20250901000001", 100, PAID.replace(tzinfo=None))


def test_numbers_use_the_shanghai_day_of_payment() -> None:
    assert receipt_number(datetime(2025, 8, 31, 16, 0, tzinfo=UTC), 1) == "ZSB20250901000001"
    assert receipt_number(datetime(2025, 8, 31, 15, 59, 59, tzinfo=UTC), 999_999) == "ZSB20250831999999"
    for bad in (0, 1_000_000):
        with pytest.raises(ValueError):
            receipt_number(PAID, bad)


def test_payer_is_masked() -> None:
    assert [mask_name(n) for n in ("陈志强", "王芳", "欧阳娜娜", "李", "")] == ["陈*强", "王*", "欧**娜", "李", ""]
    assert payer_label("王芳", "+8613912345678") == "王*（139****5678）"
    assert payer_label("", "13912345678") == "139****5678"
    assert payer_label("王芳", "") == "王*"
    assert payer_label("", "") == "—"


def test_payment_is_checked_before_anything_is_issued() -> None:
    for changes, word in (({"channel": "cash"}, "channel"), ({"paid_at": PAID.replace(tzinfo=None)}, "aware"),
                          ({"items": ()}, "items"), ({"items": (ReceiptItem("学费", 0),)}, "positive"),
                          ({"items": (ReceiptItem("学费", 10.5),)}, "integer"),  # type: ignore[arg-type]
                          ({"items": tuple(ReceiptItem(f"费{i}", 1) for i in range(5))}, "items"),
                          ({"transaction_id": ""}, "transaction_id")):
        with pytest.raises(ValueError, match=word):
            payment(**changes)


def test_receipt_stores_utc_to_the_millisecond() -> None:
    r = receipt(paid_at=PAID.astimezone(receipt().paid_at_local.tzinfo))
    assert r.paid_at == PAID.replace(microsecond=678_000) and r.paid_at.tzinfo == UTC
