"""The Alipay trade bill of one day: a zip of two GBK CSV files, as `bill_download_url` serves it.

`<pid>0156_<yyyymmdd>_业务明细.csv` lists every payment (业务类型 交易, on the day it completed) and every refund
(退款, negative amounts, on the day it was made) between `#` comment lines; `…_业务明细(汇总).csv` sums them.
Identifiers end with a TAB (so Excel keeps them as text). Member names are GBK too, without the zip UTF-8 flag,
as Alipay writes them.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta

DETAIL_HEADER = ("支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,"
                 "订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,"
                 "券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注")
SUMMARY_HEADER = ("门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,支付宝优惠（元）,"
                  "商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）")
RULE = "-" * 41


@dataclass(frozen=True)
class BillEntry:
    trade_no: str
    out_trade_no: str
    kind: str  # 交易 | 退款
    subject: str
    created_at: datetime
    finished_at: datetime
    buyer: str
    amount_fen: int  # negative for a refund
    request_no: str = ""


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


class _GbkName(zipfile.ZipInfo):
    """A member whose name is stored in GBK with no UTF-8 flag (zipfile would write UTF-8 otherwise)."""

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:  # noqa: N802 (zipfile's own name)
        return self.filename.encode("gbk"), self.flag_bits & ~0x800


def render_zip(pid: str, day: date, entries: list[BillEntry], exported_at: datetime) -> tuple[str, bytes]:
    """(zip file name, zip bytes) of the day's bill."""
    account, stamp = f"{pid}0156", day.strftime("%Y%m%d")
    start = f"{day:%Y年%m月%d日} 00:00:00"
    end = f"{day + timedelta(days=1):%Y年%m月%d日} 00:00:00"
    preamble = ["#支付宝业务明细查询", f"#账号：[{account}]", f"#起始日期：[{start}]   终止日期：[{end}]"]
    detail = [*preamble, f"#{RULE}业务明细列表{RULE}", DETAIL_HEADER]
    trades = refunds = total = 0
    for e in sorted(entries, key=lambda item: item.finished_at):
        trades += e.kind == "交易"
        refunds += e.kind == "退款"
        total += e.amount_fen
        detail.append(",".join([
            f"{e.trade_no}\t", f"{e.out_trade_no}\t", e.kind, e.subject.replace(",", "，"),
            f"{e.created_at:%Y-%m-%d %H:%M:%S}", f"{e.finished_at:%Y-%m-%d %H:%M:%S}", "", "", "", "", f"{e.buyer}\t",
            _yuan(e.amount_fen), _yuan(e.amount_fen), "0.00", "0.00", "0.00", "0.00", "0.00", "", "0.00", "0.00",
            f"{e.request_no}\t" if e.request_no else "", "0.00", "0.00", ""]))
    detail += [f"#{RULE}业务明细列表结束{RULE}", f"#交易合计：{trades}笔，退款合计：{refunds}笔",
               f"#导出时间：[{exported_at:%Y年%m月%d日 %H:%M:%S}]"]
    summary = ["#支付宝业务汇总查询", f"#账号：[{account}]", f"#起始日期：[{start}]   终止日期：[{end}]",
               f"#{RULE}业务汇总列表{RULE}", SUMMARY_HEADER,
               f",合计,{trades},{refunds},{_yuan(total)},{_yuan(total)},0.00,0.00,0.00,0.00,0.00,{_yuan(total)}",
               f"#{RULE}业务汇总列表结束{RULE}", f"#导出时间：[{exported_at:%Y年%m月%d日 %H:%M:%S}]"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for suffix, lines in (("业务明细", detail), ("业务明细(汇总)", summary)):
            member = _GbkName(f"{account}_{stamp}_{suffix}.csv", date_time=exported_at.timetuple()[:6])
            member.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(member, ("\r\n".join(lines) + "\r\n").encode("gbk"))
    return f"{account}_{stamp}.csv.zip", buffer.getvalue()
