"""The WeChat Pay trade bill (交易账单) of one day, in WeChat's CSV layout.

Layout (ALL): a header line, one line per payment (its success time falls on the day) and per refund (accepted
on the day), then a summary header and one summary line. Every detail and summary value starts with a backtick
(so Excel keeps long numbers); amounts are yuan with two decimals, fees five; lines end with CRLF. Days are
Asia/Shanghai days.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

HEADER = ("交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,"
          "货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,"
          "商户数据包,手续费,费率,订单金额,申请退款金额,费率备注")
SUMMARY_HEADER = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
RATE = Decimal("0.006")  # 0.60%, the usual rate for these merchants


@dataclass(frozen=True)
class BillLine:
    """One payment (`refund_fen` None) or one refund of a payment."""

    at: datetime
    appid: str
    mchid: str
    transaction_id: str
    out_trade_no: str
    openid: str
    total_fen: int
    description: str
    attach: str
    refund_id: str = ""
    out_refund_no: str = ""
    refund_fen: int | None = None
    refund_status: str = ""


def _yuan(fen: int) -> str:
    return f"{Decimal(fen) / 100:.2f}"


def _fee(fen: int) -> Decimal:
    return (Decimal(fen) / 100 * RATE).quantize(Decimal("0.00001"))


def render(day: date, lines: Iterable[BillLine], bill_type: str = "ALL") -> bytes:
    """The bill file's bytes (UTF-8). `bill_type` SUCCESS keeps payments, REFUND keeps refunds."""
    rows, count = [HEADER], 0
    settled = refunded = ordered = requested = 0
    fee_total = Decimal(0)
    for line in sorted(lines, key=lambda item: item.at):
        if line.at.date() != day:
            continue
        is_refund = line.refund_fen is not None
        if (bill_type == "SUCCESS" and is_refund) or (bill_type == "REFUND" and not is_refund):
            continue
        count += 1
        if is_refund:
            assert line.refund_fen is not None
            fee = -_fee(line.refund_fen)
            values = [line.at.strftime("%Y-%m-%d %H:%M:%S"), line.appid, line.mchid, "0", "", line.transaction_id,
                      line.out_trade_no, line.openid, "JSAPI", "REFUND", "OTHERS", "CNY", "0.00", "0.00",
                      line.refund_id, line.out_refund_no, _yuan(line.refund_fen), "0.00", "ORIGINAL",
                      line.refund_status, line.description, line.attach, f"{fee:.5f}", "0.60%", "0.00",
                      _yuan(line.refund_fen), ""]
            refunded += line.refund_fen
            requested += line.refund_fen
        else:
            fee = _fee(line.total_fen)
            values = [line.at.strftime("%Y-%m-%d %H:%M:%S"), line.appid, line.mchid, "0", "", line.transaction_id,
                      line.out_trade_no, line.openid, "JSAPI", "SUCCESS", "OTHERS", "CNY", _yuan(line.total_fen),
                      "0.00", "0", "0", "0.00", "0.00", "", "", line.description, line.attach, f"{fee:.5f}",
                      "0.60%", _yuan(line.total_fen), "0.00", ""]
            settled += line.total_fen
            ordered += line.total_fen
        fee_total += fee
        rows.append(",".join("`" + v.replace(",", "，") for v in values))
    rows.append(SUMMARY_HEADER)
    summary = [str(count), _yuan(settled), _yuan(refunded), "0.00", f"{fee_total:.5f}", _yuan(ordered),
               _yuan(requested)]
    rows.append(",".join("`" + v for v in summary))
    return ("\r\n".join(rows) + "\r\n").encode()
