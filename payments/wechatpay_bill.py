"""Parser of the WeChat Pay trade bill (交易账单): header, detail lines, summary header, summary line.

Columns are found by their names (not positions), each value loses its leading backtick, amounts become fen,
times Asia/Shanghai. The lines must add up to the summary (count, settlement and refund totals): a bill that
does not is refused rather than half-used for reconciliation.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from payments.errors import BillUnavailable
from payments.money import yuan_to_fen
from payments.wechatpay_types import BillRow, TradeBill

SHANGHAI = ZoneInfo("Asia/Shanghai")
PROVIDER = "wechatpay"
COLUMNS = {
    "交易时间": "trade_time", "公众账号ID": "appid", "商户号": "mchid", "微信订单号": "transaction_id",
    "商户订单号": "out_trade_no", "用户标识": "openid", "交易类型": "trade_type", "交易状态": "trade_state",
    "应结订单金额": "settlement", "微信退款单号": "refund_id", "商户退款单号": "out_refund_no", "退款金额": "refund",
    "退款状态": "refund_status", "商品名称": "description", "商户数据包": "attach", "手续费": "fee",
    "订单金额": "order", "申请退款金额": "requested_refund",
}
SUMMARY_COUNT, SUMMARY_SETTLED, SUMMARY_REFUNDED, SUMMARY_ORDERED = "总交易单数", "应结订单总金额", "退款总金额", "订单总金额"


def _cells(line: str) -> list[str]:
    return [cell[1:] if cell.startswith("`") else cell for cell in line.split(",")]


def _fen(value: str) -> int:
    """Bill amounts; an empty cell or the `0` WeChat writes in unused refund columns is zero."""
    return yuan_to_fen(value) if value not in ("", "0") else 0


def parse_trade_bill(data: bytes, bill_date: date) -> TradeBill:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BillUnavailable(PROVIDER, "BILL_MALFORMED", "not UTF-8") from None
    lines = [line for line in text.splitlines() if line.strip()]
    try:
        start = next(i for i, line in enumerate(lines) if line.startswith("交易时间,"))
        end = next(i for i, line in enumerate(lines) if line.startswith(SUMMARY_COUNT + ","))
    except StopIteration:
        raise BillUnavailable(PROVIDER, "BILL_MALFORMED", "header or summary line missing") from None
    header = lines[start].split(",")
    missing = [name for name in COLUMNS if name not in header]
    if missing or end + 1 >= len(lines):
        raise BillUnavailable(PROVIDER, "BILL_MALFORMED", f"missing columns {missing} or summary values")
    index = {COLUMNS[name]: header.index(name) for name in COLUMNS}
    rows = []
    try:
        for number, line in enumerate(lines[start + 1:end], start=start + 2):
            cells = _cells(line)
            if len(cells) != len(header):
                raise ValueError(f"line {number} has {len(cells)} cells, the header {len(header)}")
            rows.append(_row({key: cells[i] for key, i in index.items()}))
        summary = dict(zip(lines[end].split(","), _cells(lines[end + 1]), strict=False))
        bill = TradeBill(bill_date=bill_date, rows=tuple(rows), count=int(summary[SUMMARY_COUNT]),
                         settlement_total_fen=_fen(summary[SUMMARY_SETTLED]),
                         refund_total_fen=_fen(summary[SUMMARY_REFUNDED]),
                         order_total_fen=_fen(summary[SUMMARY_ORDERED]), raw_summary=summary)
    except (ValueError, KeyError) as exc:
        raise BillUnavailable(PROVIDER, "BILL_MALFORMED", str(exc)[:200]) from None
    _check_totals(bill)
    return bill


def _row(cell: dict[str, str]) -> BillRow:
    return BillRow(
        trade_time=datetime.strptime(cell["trade_time"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI),
        appid=cell["appid"], mchid=cell["mchid"], transaction_id=cell["transaction_id"],
        out_trade_no=cell["out_trade_no"], openid=cell["openid"], trade_type=cell["trade_type"],
        trade_state=cell["trade_state"], settlement_fen=_fen(cell["settlement"]),
        refund_id=cell["refund_id"] if cell["refund_id"] != "0" else "",
        out_refund_no=cell["out_refund_no"] if cell["out_refund_no"] != "0" else "",
        refund_fen=_fen(cell["refund"]), refund_status=cell["refund_status"], description=cell["description"],
        attach=cell["attach"], fee=cell["fee"], order_fen=_fen(cell["order"]),
        requested_refund_fen=_fen(cell["requested_refund"]))


def _check_totals(bill: TradeBill) -> None:
    settled = sum(row.settlement_fen for row in bill.rows if not row.is_refund)
    refunded = sum(row.refund_fen for row in bill.rows if row.is_refund)
    if (len(bill.rows), settled, refunded) != (bill.count, bill.settlement_total_fen, bill.refund_total_fen):
        raise BillUnavailable(PROVIDER, "BILL_INCONSISTENT",
                              f"lines give {len(bill.rows)} / {settled} / {refunded} fen, the summary "
                              f"{bill.count} / {bill.settlement_total_fen} / {bill.refund_total_fen}")
