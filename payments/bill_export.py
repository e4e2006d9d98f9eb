"""Export of a class's bills and payments to xlsx, for the school's finance office.

One row per bill: the student, the fee item, the amount in yuan (from integer fen, never a float), the state,
and the payment columns (time, channel, transaction number) which stay empty until orders exist. No citizen ID
or phone number is exported at all (the school has them; a spreadsheet travels). The workbook is built in a
worker thread; every text is written as text, never as a formula.
"""

from __future__ import annotations

import asyncio
import io
import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from accounts.scopes import Action, Actor
from core.errors import AppError
from payments import fee_errors as FE
from payments.bills import BILL_STATE_LABELS, BillRepository, BillState
from payments.classes import ClassRepository
from payments.money import fen_to_yuan
from payments.schools import Schools

SHANGHAI = ZoneInfo("Asia/Shanghai")
HEADERS = ("学号", "姓名", "年级", "班级", "收费项目", "学期", "应缴金额（元）", "状态", "缴费时间", "支付渠道",
           "交易单号", "取消原因")
PROVIDERS = {"wechatpay": "微信支付", "alipay": "支付宝"}
_NOT_IN_TITLES = re.compile(r"[\[\]:*?/\\]")  # Excel refuses these in a sheet's title; "/" and "\\" break file names


def safe_title(text: str) -> str:
    """A class's name as a sheet title and a file-name part: the roster allows any text (`1/2班`, `[实验]班`)."""
    return _NOT_IN_TITLES.sub("_", text).strip("'") or "账单"


def _row(bill: dict[str, Any]) -> list[Any]:
    payment = bill.get("payment") or {}
    paid_at = bill.get("paid_at")
    return [bill["student_no"], bill["student_name"], bill["grade"], bill["class_name"], bill["item"]["name"],
            bill["item"]["term"], fen_to_yuan(bill["amount_fen"]), BILL_STATE_LABELS[BillState(bill["state"])],
            paid_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S") if paid_at else None,
            PROVIDERS.get(payment.get("provider", ""), payment.get("provider")), payment.get("transaction_id"),
            bill.get("cancel_reason")]


def build_bills_workbook(title: str, bills: list[dict[str, Any]]) -> bytes:
    book = Workbook()
    ws = book.active
    ws.title = safe_title(title)[:31]
    ws.append(list(HEADERS))
    for cell in ws[1]:
        cell.font, cell.fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    for bill in bills:
        ws.append(_row(bill))
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
    for letter, width in zip("ABCDEFGHIJKL", (14, 10, 10, 10, 28, 14, 14, 8, 20, 10, 34, 24), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@dataclass
class BillExport:
    schools: Schools
    classes: ClassRepository
    bills: BillRepository

    async def class_bills(self, actor: Actor, school_id: str, class_id: str,
                          item_id: str | None = None) -> tuple[bytes, str]:
        """(workbook, file name) of the class's bills (of one fee item when given)."""
        school = await self.schools.get(actor, school_id, Action.READ)
        klass = await self.classes.get(class_id)
        if klass is None or klass["school_id"] != school_id:
            raise AppError(FE.CLASS_NOT_FOUND)
        bills = await self.bills.of_class(school_id, class_id, item_id=item_id)
        title = f"{klass['grade']}{klass['name']}"
        data = await asyncio.to_thread(build_bills_workbook, title, bills)
        return data, f"{safe_title(school['name'])}-{safe_title(title)}-账单.xlsx"
