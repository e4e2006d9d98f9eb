"""Money conversion, key formats and the two bill parsers (on files the simulators render in the providers'
layouts: backticks and CRLF for WeChat Pay, a GBK zip with GBK member names for Alipay)."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from payments.alipay_bill import parse_bill_zip
from payments.errors import BillUnavailable
from payments.keys import (
    KeyFormatError,
    load_private_key,
    load_public_key,
    new_private_key,
    private_key_pkcs1_pem,
    private_key_pkcs8_pem,
    private_key_text,
    public_key_pem,
    public_key_text,
)
from payments.money import fen_to_yuan, yuan_to_fen
from payments.wechatpay_bill import parse_trade_bill
from simulators.alipay_bill import BillEntry, render_zip
from simulators.wechatpay_bill import BillLine, render

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 3, 1)
AT = datetime(2026, 3, 1, 9, 30, tzinfo=SHANGHAI)


def test_fen_and_yuan() -> None:
    assert [fen_to_yuan(v) for v in (0, 1, 100, 8888, 120000, -45)] == ["0.00", "0.01", "1.00", "88.88", "1200.00",
                                                                        "-0.45"]
    assert [yuan_to_fen(v) for v in ("0.01", "88.88", "1200", "-0.45", " 3.5 ")] == [1, 8888, 120000, -45, 350]
    for bad in ("0.001", "1e3", "", "abc", "NaN", "1,000.00"):
        with pytest.raises(ValueError):
            yuan_to_fen(bad)
    with pytest.raises(TypeError):
        fen_to_yuan(1.5)  # type: ignore[arg-type]


def test_keys_in_every_shape_the_portals_give() -> None:
    key = new_private_key()
    for text in (private_key_text(key), private_key_pkcs8_pem(key), private_key_pkcs1_pem(key),
                 private_key_pkcs8_pem(key).replace("\n", "\\n")):
        assert load_private_key(text).private_numbers() == key.private_numbers()
    for text in (public_key_text(key.public_key()), public_key_pem(key.public_key())):
        assert load_public_key(text).public_numbers() == key.public_key().public_numbers()
    with pytest.raises(KeyFormatError, match="ZSB_X is empty"):
        load_private_key("", setting="ZSB_X")
    with pytest.raises(KeyFormatError, match="not a readable"):
        load_private_key("bm90IGEga2V5")
    with pytest.raises(KeyFormatError, match="neither PEM nor base64"):
        load_public_key("not base64 !")


def wechat_lines() -> list[BillLine]:
    paid = BillLine(AT, "wxapp", "1900000109", "4200000001", "ZSB0001", "oUser", 120000, "学费", "")
    other = BillLine(AT.replace(hour=11), "wxapp", "1900000109", "4200000002", "ZSB0002", "oUser", 88, "书本费", "")
    refund = BillLine(AT.replace(hour=12), "wxapp", "1900000109", "4200000001", "ZSB0001", "oUser", 120000, "学费",
                      "", "50000001", "R1", 100, "SUCCESS")
    yesterday = BillLine(AT.replace(day=28, month=2), "wxapp", "1900000109", "42009", "ZSB0009", "o", 5, "x", "")
    return [paid, other, refund, yesterday]


def test_wechat_trade_bill_round_trip() -> None:
    data = render(DAY, wechat_lines())
    assert data.startswith("交易时间,公众账号ID".encode()) and b"\r\n`2026-03-01 09:30:00,`wxapp" in data
    bill = parse_trade_bill(data, DAY)
    assert [(r.out_trade_no, r.trade_state, r.settlement_fen, r.refund_fen) for r in bill.rows] == [
        ("ZSB0001", "SUCCESS", 120000, 0), ("ZSB0002", "SUCCESS", 88, 0), ("ZSB0001", "REFUND", 0, 100)]
    assert bill.rows[0].trade_time == AT and bill.rows[2].out_refund_no == "R1"
    assert (bill.count, bill.settlement_total_fen, bill.refund_total_fen) == (3, 120088, 100)
    only_refunds = parse_trade_bill(render(DAY, wechat_lines(), "REFUND"), DAY)
    assert [r.is_refund for r in only_refunds.rows] == [True]


def test_wechat_trade_bill_that_does_not_add_up_is_refused() -> None:
    data = render(DAY, wechat_lines())
    lines = data.decode().split("\r\n")
    dropped = "\r\n".join(lines[:2] + lines[3:]).encode()  # one detail line lost in transit
    with pytest.raises(BillUnavailable) as caught:
        parse_trade_bill(dropped, DAY)
    assert caught.value.code == "BILL_INCONSISTENT"
    with pytest.raises(BillUnavailable) as garbage:
        parse_trade_bill(b"<html>502</html>", DAY)
    assert garbage.value.code == "BILL_MALFORMED"


def alipay_entries() -> list[BillEntry]:
    return [BillEntry("2026030122001400000000000001", "ZSB0001", "交易", "学费,春季", AT, AT, "138****0000", 120000),
            BillEntry("2026030122001400000000000001", "ZSB0001", "退款", "学费", AT, AT.replace(hour=12),
                      "138****0000", -100, "ZSB0001-R1")]


def test_alipay_bill_zip_round_trip_with_gbk_names() -> None:
    name, data = render_zip("2088000000000001", DAY, alipay_entries(), AT)
    assert name == "20880000000000010156_20260301.csv.zip"
    infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    assert all(not info.flag_bits & 0x800 for info in infos)  # GBK names, no UTF-8 flag, as Alipay writes them
    bill = parse_bill_zip(data, DAY)
    assert [(r.out_trade_no, r.kind, r.amount_fen, r.request_no) for r in bill.rows] == [
        ("ZSB0001", "交易", 120000, ""), ("ZSB0001", "退款", -100, "ZSB0001-R1")]
    assert bill.rows[0].subject == "学费，春季" and bill.rows[0].trade_no.endswith("0001")
    assert (bill.trade_count, bill.refund_count) == (1, 1)


def test_alipay_bill_with_wrong_totals_or_no_detail_is_refused() -> None:
    _, data = render_zip("2088000000000001", DAY, alipay_entries(), AT)
    source = zipfile.ZipFile(io.BytesIO(data))
    detail = next(i for i in source.infolist() if "(" not in i.filename)
    text = source.read(detail).decode("gbk").replace("退款合计：1笔", "退款合计：2笔")
    forged = io.BytesIO()
    with zipfile.ZipFile(forged, "w") as archive:
        archive.writestr("20880000000000010156_20260301_业务明细.csv", text.encode("gbk"))  # UTF-8 flagged name
    with pytest.raises(BillUnavailable) as caught:
        parse_bill_zip(forged.getvalue(), DAY)
    assert caught.value.code == "BILL_INCONSISTENT"
    for broken in (b"PK not really a zip", b""):
        with pytest.raises(BillUnavailable):
            parse_bill_zip(broken, DAY)
