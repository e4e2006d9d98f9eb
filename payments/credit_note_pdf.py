"""The credit note (红字票据) as a one-page PDF: the receipt's own layout (payments/receipt_pdf.py `Sheet`), marked
so nobody can take it for a receipt: a red 红字·冲红 stamp, a title that says 红字, negative amounts in red with
（负数） before the capitals, the original receipt's number and the reason on the page, and its own QR code and
verification code (the receipts' scheme). `credit_remark` is the red line a receipt gets once it has been 冲红.
"""

from __future__ import annotations

from payments.credit_notes import CreditNote, CreditStatus
from payments.money import capitals, yuan
from payments.receipt_pdf import Sheet, item_label, render, sheet_pdf_bytes, student_label
from payments.receipts import verification_url

TITLE = "学校缴费电子票据（红字）"
STAMP = "红字·冲红"


def signed(fen: int) -> str:
    """`-30000` → `-¥300.00` (credit notes print negative amounts)."""
    return f"-{yuan(-fen)}" if fen < 0 else yuan(fen)


def credit_note_sheet(note: CreditNote, url: str) -> Sheet:
    local = note.refunded_at_local
    return Sheet(
        title=TITLE, number=f"票据号码：{note.number}",
        issued=f"开票日期：{note.issued_at.astimezone(local.tzinfo):%Y-%m-%d}",
        rows=(("缴款人", note.payer), ("学生", student_label(note.student_name, note.student_no)),
              ("学校 / 班级", f"{note.school_name}  {note.class_name}")),
        items=tuple((item_label(i.name, i.note), signed(i.amount_fen)) for i in note.items),
        capitals=f"（负数）{capitals(-note.total_fen)}", figures=f"（小写）{signed(note.total_fen)}", code=note.code,
        facts=(f"退款时间：{local:%Y-%m-%d %H:%M:%S}（北京时间）", f"退款渠道：{note.channel_label}（原路退回）",
               f"原票据号码：{note.original_number}", f"退款单号：{note.out_refund_no}"),
        highlight=f"冲红原因：{note.reason}",
        note=f"本红字票据冲减原票据 {note.original_number} 的金额 {yuan(-note.total_fen)}，收款单位：{note.school_name}。"
             "查验：扫描二维码或打开下方地址。",
        url=url, stamp=STAMP, red=True, author=note.school_name,
        subject=f"{note.student_name} 冲红 {capitals(-note.total_fen)}")


def credit_note_texts(note: CreditNote, url: str) -> list[str]:
    return credit_note_sheet(note, url).texts()


def credit_note_pdf_bytes(note: CreditNote, verify_base_url: str) -> bytes:
    """The credit note's PDF (synchronous; the same note gives the same bytes)."""
    url = verification_url(verify_base_url, note.number, note.code)
    return sheet_pdf_bytes(credit_note_sheet(note, url), note.number)


async def render_credit_note_pdf(note: CreditNote, verify_base_url: str) -> bytes:
    return await render(credit_note_pdf_bytes, note, verify_base_url)


def credit_remark(status: CreditStatus) -> str:
    """The red line of a receipt that has been 冲红 (empty when it has not)."""
    if status.state == "none":
        return ""
    numbers = "、".join(n.number for n in status.notes)
    return f"已{status.label} {yuan(status.credited_fen)}（红字票据 {numbers}）"
