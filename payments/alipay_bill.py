"""Parser of the Alipay trade bill zip: the `…_业务明细.csv` member (GBK), rows between the header and the
closing `#` lines, checked against the footer's `#交易合计：N笔，退款合计：M笔`.

Alipay stores member names in GBK without the zip UTF-8 flag, so Python reads them as cp437: they are decoded
back before the detail file is picked (the summary `…(汇总).csv` is not needed: the rows carry everything).
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime
from zoneinfo import ZoneInfo

from payments.alipay_types import BillRow, TradeBill
from payments.errors import BillUnavailable
from payments.money import yuan_to_fen

SHANGHAI = ZoneInfo("Asia/Shanghai")
PROVIDER = "alipay"
COLUMNS = {"支付宝交易号": "trade_no", "商户订单号": "out_trade_no", "业务类型": "kind", "商品名称": "subject",
           "创建时间": "created_at", "完成时间": "finished_at", "订单金额（元）": "amount", "商家实收（元）": "received",
           "退款批次号/请求号": "request_no"}
_FOOTER = re.compile(r"#交易合计：(\d+)笔，退款合计：(\d+)笔")


def _member_name(info: zipfile.ZipInfo) -> str:
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("gb18030")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def _time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)


def parse_bill_zip(data: bytes, bill_date: date) -> TradeBill:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            detail = [i for i in archive.infolist()
                      if _member_name(i).endswith("业务明细.csv") and "汇总" not in _member_name(i)]
            if len(detail) != 1:
                raise BillUnavailable(PROVIDER, "BILL_MALFORMED", "no single 业务明细.csv in the zip")
            text = archive.read(detail[0]).decode("gb18030")
    except (zipfile.BadZipFile, UnicodeDecodeError) as exc:
        raise BillUnavailable(PROVIDER, "BILL_MALFORMED", type(exc).__name__) from None
    lines = text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.startswith("支付宝交易号,"))
        counts = next(_FOOTER.match(line) for line in lines if _FOOTER.match(line))
    except StopIteration:
        raise BillUnavailable(PROVIDER, "BILL_MALFORMED", "header or totals line missing") from None
    header = lines[start].split(",")
    if any(name not in header for name in COLUMNS):
        raise BillUnavailable(PROVIDER, "BILL_MALFORMED", "a column is missing")
    index = {COLUMNS[name]: header.index(name) for name in COLUMNS}
    rows = []
    try:
        for number, line in enumerate(lines[start + 1:], start=start + 2):
            if line.startswith("#"):
                break
            cells = [cell.strip() for cell in line.split(",")]
            if len(cells) != len(header):
                raise ValueError(f"line {number} has {len(cells)} cells, the header {len(header)}")
            cell = {key: cells[i] for key, i in index.items()}
            rows.append(BillRow(cell["trade_no"], cell["out_trade_no"], cell["kind"], cell["subject"],
                                _time(cell["created_at"]), _time(cell["finished_at"]), yuan_to_fen(cell["amount"]),
                                yuan_to_fen(cell["received"]), cell["request_no"]))
    except ValueError as exc:
        raise BillUnavailable(PROVIDER, "BILL_MALFORMED", str(exc)[:200]) from None
    bill = TradeBill(bill_date, tuple(rows), int(counts[1]), int(counts[2]))
    found = (sum(not r.is_refund for r in rows), sum(r.is_refund for r in rows))
    if found != (bill.trade_count, bill.refund_count):
        raise BillUnavailable(PROVIDER, "BILL_INCONSISTENT", f"rows {found}, footer "
                              f"{(bill.trade_count, bill.refund_count)}")
    return bill
