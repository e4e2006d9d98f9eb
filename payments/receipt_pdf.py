"""The e-receipt as a one-page PDF (A5 landscape), drawn with reportlab in WenQuanYi Zen Hei.

The font is Debian's fonts-wqy-zenhei (devstack/bootstrap.sh installs it): a TrueType collection whose first
face is Zen Hei; reportlab embeds a subset of the glyphs used, so the PDF shows the same on every reader. A
character the font lacks would print as an empty box (tofu): `missing_glyphs` finds such characters and the
renderer logs their code points (never the text). The QR code is made by segno (pure Python) and drawn as
vector squares, so it stays sharp at any zoom.

The page is drawn from a `Sheet` (the strings it prints, in reading order), so a credit note (红字票据,
payments/credit_note_pdf.py) is the same layout with its own words, negative amounts in red and a red stamp,
and a receipt that has been 冲红 carries one more red line saying so.

Rendering takes tens of milliseconds of CPU: `render_receipt_pdf` runs it in a one-thread pool off the IOLoop
(the API renders on demand, one receipt at a time); a Celery task can call `receipt_pdf_bytes` directly.
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import segno
import structlog
from reportlab.lib.colors import Color, black, white
from reportlab.lib.pagesizes import A5, landscape
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from payments.money import capitals, yuan
from payments.receipts import Receipt, verification_url

log = structlog.get_logger(__name__)

FONT_PATH = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
FONT_NAME = "WenQuanYiZenHei"
TITLE = "学校缴费电子票据"
RED = Color(0.66, 0.09, 0.09)
GREY = Color(0.35, 0.35, 0.35)
PAGE_W, PAGE_H = landscape(A5)
MARGIN = 12 * mm
ROW = 7.5 * mm
QR_SIZE = 30 * mm

_font_lock = threading.Lock()
_font: TTFont | None = None
_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="receipt-pdf")


def font() -> TTFont:
    """The CJK font, loaded and registered once per process (parsing the 17 MB collection takes a while)."""
    global _font
    with _font_lock:
        if _font is None:
            if not FONT_PATH.exists():
                raise RuntimeError(f"CJK font missing: {FONT_PATH} (Debian package fonts-wqy-zenhei, "
                                   "installed by devstack/bootstrap.sh)")
            loaded = TTFont(FONT_NAME, str(FONT_PATH), subfontIndex=0)
            pdfmetrics.registerFont(loaded)
            _font = loaded
        return _font


def missing_glyphs(texts: Iterable[str]) -> set[str]:
    """Characters of `texts` the font has no glyph for (they would print as empty boxes)."""
    cmap = font().face.charToGlyph
    return {char for text in texts for char in text if not char.isspace() and ord(char) not in cmap}


@dataclass(frozen=True, slots=True)
class Sheet:
    """One page as printed: a receipt, or a credit note (payments/credit_note_pdf.py), which has the same layout
    with its own words, negative amounts in red and a red 红字 stamp. `texts` is every string in reading order."""

    title: str
    number: str  # 票据号码：…
    issued: str  # 开票日期：…
    rows: tuple[tuple[str, str], tuple[str, str], tuple[str, str]]  # (label, value): payer, student, school
    items: tuple[tuple[str, str], ...]  # (name, amount)
    capitals: str
    figures: str
    code: str
    facts: tuple[str, str, str, str]  # time (left), channel (right), two lines under them
    highlight: str  # the red line under the facts
    note: str  # how to verify
    url: str  # the verification URL (and the QR code's content)
    remark: str = ""  # a second red line (a receipt that has been 冲红)
    stamp: str = ""  # a red boxed stamp left of the title (a credit note)
    red: bool = False  # the amounts in red
    author: str = ""
    subject: str = ""

    def texts(self) -> list[str]:
        texts = [*([self.stamp] if self.stamp else []), self.title, self.number, self.issued]
        for label, value in self.rows:
            texts += [label, value]
        texts += ["序号", "收费项目", "金额（元）"]
        for index, (name, amount) in enumerate(self.items, start=1):
            texts += [str(index), name, amount]
        texts += ["合计（大写）", self.capitals, self.figures, "扫码查验", f"校验码 {self.code}", *self.facts,
                  self.highlight, *([self.remark] if self.remark else []), self.note, self.url]
        return texts


def receipt_sheet(receipt: Receipt, url: str, remark: str = "") -> Sheet:
    local = receipt.paid_at_local
    return Sheet(
        title=TITLE, number=f"票据号码：{receipt.number}",
        issued=f"开票日期：{receipt.issued_at.astimezone(local.tzinfo):%Y-%m-%d}",
        rows=(("缴款人", receipt.payer), ("学生", student_label(receipt.student_name, receipt.student_no)),
              ("学校 / 班级", f"{receipt.school_name}  {receipt.class_name}")),
        items=tuple((item_label(i.name, i.note), yuan(i.amount_fen)) for i in receipt.items),
        capitals=capitals(receipt.total_fen), figures=f"（小写）{yuan(receipt.total_fen)}", code=receipt.code,
        facts=(f"支付时间：{local:%Y-%m-%d %H:%M:%S}（北京时间）", f"支付渠道：{receipt.channel_label}",
               f"交易单号：{receipt.transaction_id}", f"商户订单号：{receipt.out_trade_no}"),
        highlight=f"收款单位：{receipt.school_name}",
        note="查验：扫描二维码，或打开下方地址核对票据号码、金额与支付时间。本票据由掌上办根据支付结果生成。", url=url,
        remark=remark, author=receipt.school_name, subject=f"{receipt.student_name} {capitals(receipt.total_fen)}")


def receipt_texts(receipt: Receipt, url: str, remark: str = "") -> list[str]:
    """Every string the page prints, in reading order (the renderer draws exactly these)."""
    return receipt_sheet(receipt, url, remark).texts()


def student_label(name: str, number: str) -> str:
    return f"{name}（学号 {number}）" if number else name


def item_label(name: str, note: str) -> str:
    return f"{name}（{note}）" if note else name


class _Page:
    """A canvas with the few drawing moves a receipt needs; y grows downwards from the top margin."""

    def __init__(self, canvas: Canvas) -> None:
        self.c = canvas

    def text(self, x: float, top: float, text: str, size: float, *, width: float | None = None,
             align: str = "left", color: Color = black) -> None:
        """Text whose cap line is at `top` (from the page top); shrunk to fit `width` if given."""
        if width is not None:
            natural = pdfmetrics.stringWidth(text, FONT_NAME, size)
            size = size if natural <= width else max(size * width / natural, 5)
        self.c.setFillColor(color)
        self.c.setFont(FONT_NAME, size)
        y = PAGE_H - top - size * 0.88
        if align == "center":
            self.c.drawCentredString(x, y, text)
        elif align == "right":
            self.c.drawRightString(x, y, text)
        else:
            self.c.drawString(x, y, text)

    def hline(self, x0: float, x1: float, top: float, width: float = 0.6, color: Color = black) -> None:
        self.c.setStrokeColor(color)
        self.c.setLineWidth(width)
        self.c.line(x0, PAGE_H - top, x1, PAGE_H - top)

    def box(self, x: float, top: float, width: float, height: float, color: Color) -> None:
        """A stroked rectangle (a stamp's frame), doubled like a seal."""
        self.c.setStrokeColor(color)
        for inset, line in ((0.0, 1.4), (0.9 * mm, 0.5)):
            self.c.setLineWidth(line)
            self.c.rect(x + inset, PAGE_H - top - height + inset, width - 2 * inset, height - 2 * inset, stroke=1,
                        fill=0)

    def vline(self, x: float, top: float, bottom: float) -> None:
        self.c.setStrokeColor(black)
        self.c.setLineWidth(0.6)
        self.c.line(x, PAGE_H - top, x, PAGE_H - bottom)

    def qr(self, x: float, top: float, size: float, data: str) -> None:
        """A QR code (error correction M, quiet zone of 4 modules) in a `size` square; runs of dark modules
        are drawn as one rectangle each."""
        matrix = segno.make_qr(data, error="m", boost_error=False).matrix
        modules = len(matrix) + 8
        unit = size / modules
        self.c.setFillColor(white)
        self.c.rect(x, PAGE_H - top - size, size, size, stroke=0, fill=1)
        self.c.setFillColor(black)
        for r, row in enumerate(matrix):
            c = 0
            while c < len(row):
                if not row[c]:
                    c += 1
                    continue
                start = c
                while c < len(row) and row[c]:
                    c += 1
                self.c.rect(x + (start + 4) * unit, PAGE_H - top - (r + 5) * unit, (c - start) * unit, unit,
                            stroke=0, fill=1)


def receipt_pdf_bytes(receipt: Receipt, verify_base_url: str, remark: str = "") -> bytes:
    """The receipt's PDF (synchronous, CPU-bound: call it in a worker thread or a Celery task). `remark`: a red
    line saying the receipt has been 冲红 (payments/credit_note_pdf.py `credit_remark`)."""
    url = verification_url(verify_base_url, receipt.number, receipt.code)
    return sheet_pdf_bytes(receipt_sheet(receipt, url, remark), receipt.number)


def sheet_pdf_bytes(sheet: Sheet, number: str) -> bytes:
    """One sheet as a one-page PDF; the same sheet gives the same bytes."""
    font()
    missing = missing_glyphs(sheet.texts())
    if missing:
        log.warning("receipt_missing_glyphs", receipt=number,
                    code_points=sorted(f"U+{ord(ch):04X}" for ch in missing))
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(PAGE_W, PAGE_H), invariant=True, pageCompression=1)
    canvas.setTitle(f"{sheet.title} {number}")
    canvas.setAuthor(sheet.author)
    canvas.setSubject(sheet.subject)
    canvas.setCreator("掌上办")
    _draw(_Page(canvas), sheet)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _draw(page: _Page, sheet: Sheet) -> None:
    left, right = MARGIN, PAGE_W - MARGIN
    amount_color = RED if sheet.red else black
    if sheet.stamp:  # a boxed red stamp left of the title, on a credit note
        page.box(left, 7 * mm, 30 * mm, 12 * mm, RED)
        page.text(left + 15 * mm, 9.2 * mm, sheet.stamp, 15, align="center", color=RED, width=27 * mm)
    page.text(PAGE_W / 2, 10 * mm, sheet.title, 20, align="center", color=RED, width=right - left - 64 * mm)
    page.hline(PAGE_W / 2 - 42 * mm, PAGE_W / 2 + 42 * mm, 20 * mm, 1.2, RED)
    page.hline(PAGE_W / 2 - 42 * mm, PAGE_W / 2 + 42 * mm, 21 * mm, 0.5, RED)
    page.text(left, 25 * mm, sheet.number, 9.5)
    page.text(right, 25 * mm, sheet.issued, 9.5, align="right")

    # the grid: three labelled rows, the items with a header, the total; the QR column on the right
    table_right = right - QR_SIZE - 6 * mm
    label_w, amount_w = 24 * mm, 30 * mm
    top = 31 * mm
    rows = 3 + 1 + len(sheet.items) + 1
    bottom = top + rows * ROW
    page.hline(left, table_right, top)
    for label_row, (label, value) in enumerate(sheet.rows):
        y = top + label_row * ROW
        page.text(left + 2 * mm, y + 2 * mm, label, 9, color=GREY)
        page.text(left + label_w + 2 * mm, y + 2 * mm, value, 10, width=table_right - left - label_w - 4 * mm)
        page.hline(left, table_right, y + ROW, 0.3)
    y = top + 3 * ROW
    amount_x = table_right - amount_w
    page.text(left + label_w / 2, y + 2 * mm, "序号", 9, align="center", color=GREY)
    page.text(left + label_w + 2 * mm, y + 2 * mm, "收费项目", 9, color=GREY)
    page.text(table_right - 2 * mm, y + 2 * mm, "金额（元）", 9, align="right", color=GREY)
    page.hline(left, table_right, y + ROW, 0.3)
    for index, (name, amount) in enumerate(sheet.items, start=1):
        y += ROW
        page.text(left + label_w / 2, y + 2 * mm, str(index), 10, align="center")
        page.text(left + label_w + 2 * mm, y + 2 * mm, name, 10, width=amount_x - left - label_w - 4 * mm)
        page.text(table_right - 2 * mm, y + 2 * mm, amount, 10, align="right", color=amount_color)
        page.hline(left, table_right, y + ROW, 0.3)
    y += ROW
    page.text(left + 2 * mm, y + 2 * mm, "合计（大写）", 9, color=GREY)
    page.text(left + label_w + 2 * mm, y + 1.6 * mm, sheet.capitals, 11.5, width=amount_x - left - label_w - 4 * mm,
              color=amount_color)
    page.text(table_right - 2 * mm, y + 2 * mm, sheet.figures, 10, align="right", width=amount_w - 3 * mm,
              color=amount_color)
    page.hline(left, table_right, bottom, 1.0)
    page.hline(left, table_right, top, 1.0)
    page.vline(left, top, bottom)
    page.vline(table_right, top, bottom)
    page.vline(left + label_w, top, bottom)
    page.vline(amount_x, top + 3 * ROW, bottom)

    # QR and code
    qr_x = right - QR_SIZE
    page.text(qr_x + QR_SIZE / 2, top + QR_SIZE + 1.5 * mm, "扫码查验", 9, align="center", color=GREY)
    page.text(qr_x + QR_SIZE / 2, top + QR_SIZE + 6 * mm, f"校验码 {sheet.code}", 9, align="center")

    # payment (or refund) facts, the red line(s), how to verify
    y = bottom + 4 * mm
    time_line, channel, second, third = sheet.facts
    page.text(left, y, time_line, 9.5)
    page.text(table_right, y, channel, 9.5, align="right")
    page.text(left, y + 5.5 * mm, second, 9.5)
    page.text(left, y + 11 * mm, third, 9.5)
    page.text(left, y + 16.5 * mm, sheet.highlight, 10.5, color=RED, width=right - left)
    if sheet.remark:
        page.text(left, y + 22.5 * mm, sheet.remark, 10.5, color=RED, width=right - left)
    page.text(left, PAGE_H - MARGIN - 8 * mm, sheet.note, 7.5, width=right - left, color=GREY)
    page.text(left, PAGE_H - MARGIN - 4 * mm, sheet.url, 7.5, width=right - left, color=GREY)
    # the QR last: it must encode exactly the URL printed under it
    page.qr(qr_x, top, QR_SIZE, sheet.url)


async def render_receipt_pdf(receipt: Receipt, verify_base_url: str, remark: str = "") -> bytes:
    """`receipt_pdf_bytes` off the IOLoop (one worker thread per process: receipts are rendered on demand)."""
    return await render(receipt_pdf_bytes, receipt, verify_base_url, remark)


async def render(function: Callable[..., bytes], *args: object) -> bytes:
    """A page rendered in this module's one-thread pool, off the IOLoop."""
    return await asyncio.get_running_loop().run_in_executor(_executor, function, *args)
