"""E-receipts (电子票据): one per settled payment, with a unique number and a verification code.

    Payment (what the order code knows) ──issue──▶ Receipt (numbered, coded, payer masked, stored)
                                                      └─▶ receipt_pdf.render_receipt_pdf → PDF bytes

- Number: `ZSB` + the Asia/Shanghai day of payment + a 6-digit sequence of that day (`ZSB20250901000123`), from
  an atomic counter per day (`receipt_counters`), so numbers are unique and dense. `issue` is idempotent per
  out_trade_no (unique index): a retried or concurrent issue returns the receipt already made. A lost race
  leaves a gap in that day's sequence (the counter moved, the insert lost); gaps are harmless, duplicates
  impossible.
- Verification code: HMAC-SHA256 of (number, amount, paid time to the second, UTC) under the first key of
  `ZSB_RECEIPT_CODE_KEYS`; its first 50 bits in Crockford base32, `XXXXX-XXXXX` (no I, L, O, U; typed
  lower-case, with O for 0 or I/L for 1, it still verifies). `verify` tries every key of the ring, so keys
  rotate by putting a new one first and keeping the old ones for the receipts already printed.
- The payer is stored and printed masked only (`陈*强（138****5678）`): a receipt never holds a phone in clear.
- The QR code encodes `{ZSB_PUBLIC_BASE_URL}/api/v1/receipts/verify?no=…&code=…` (`verification_url`); the
  handler behind it calls `ReceiptBook.check`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from config.settings import Settings
from core.clock import bson_time
from core.masking import mask_phone
from core.mongo import Repository, insert_new
from payments.money import MAX_FEN

SHANGHAI = ZoneInfo("Asia/Shanghai")
CHANNELS = {"wechatpay": "微信支付", "alipay": "支付宝"}
MAX_ITEMS = 4  # what one page holds; a bill has one item, an order one bill
VERIFY_PATH = "/api/v1/receipts/verify"
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
_TYPOS = str.maketrans({"O": "0", "I": "1", "L": "1", "-": None, " ": None})
_CODE_BITS = 50
MIN_KEY_LENGTH = 16


@dataclass(frozen=True, slots=True)
class ReceiptItem:
    name: str  # 收费项目, e.g. 学费
    amount_fen: int
    note: str = ""  # term or basis, e.g. 2025年秋季学期


@dataclass(frozen=True, slots=True)
class Payment:
    """A settled payment as the order code knows it: the input of `ReceiptBook.issue`.

    `paid_at` is the provider's success time (aware); `payer_name` / `payer_phone` are in clear here and are
    masked before anything is stored or printed; either may be empty (a WeChat payer may have no real name)."""

    out_trade_no: str
    channel: str  # wechatpay | alipay
    transaction_id: str  # WeChat transaction_id / Alipay trade_no
    paid_at: datetime
    payer_name: str
    payer_phone: str
    student_name: str
    student_no: str
    school_name: str
    class_name: str
    items: tuple[ReceiptItem, ...]
    bill_id: str = ""

    def __post_init__(self) -> None:
        problems = _problems(self.channel, self.paid_at, self.items)
        if not self.out_trade_no or not self.transaction_id:
            problems.append("out_trade_no and transaction_id are required")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def total_fen(self) -> int:
        return sum(item.amount_fen for item in self.items)


@dataclass(frozen=True, slots=True)
class Receipt:
    number: str
    code: str
    out_trade_no: str
    channel: str
    transaction_id: str
    paid_at: datetime  # aware UTC
    payer: str  # masked label
    student_name: str
    student_no: str
    school_name: str
    class_name: str
    items: tuple[ReceiptItem, ...]
    total_fen: int
    issued_at: datetime
    bill_id: str = ""

    @property
    def channel_label(self) -> str:
        return CHANNELS[self.channel]

    @property
    def paid_at_local(self) -> datetime:
        return self.paid_at.astimezone(SHANGHAI)


def _problems(channel: str, paid_at: datetime, items: Sequence[ReceiptItem]) -> list[str]:
    problems = []
    if channel not in CHANNELS:
        problems.append(f"unknown channel {channel!r}")
    if paid_at.tzinfo is None:
        problems.append("paid_at must be aware")
    if not 1 <= len(items) <= MAX_ITEMS:
        problems.append(f"a receipt has 1 to {MAX_ITEMS} items")
    for item in items:
        if isinstance(item.amount_fen, bool) or not isinstance(item.amount_fen, int) or item.amount_fen <= 0:
            problems.append(f"item {item.name!r}: amounts are positive integer fen")
    if not problems and sum(item.amount_fen for item in items) > MAX_FEN:
        problems.append("total out of range")
    return problems


# -- masking, numbers, codes, URL (pure) -------------------------------------------------------------------------
def mask_name(name: str) -> str:
    """`陈志强` → `陈*强`, `王芳` → `王*`, `欧阳娜娜` → `欧**娜`: the first character (and the last from three on)."""
    name = name.strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def payer_label(name: str, phone: str) -> str:
    """What a receipt shows of the payer: masked name and/or masked phone, or — when neither is known."""
    masked_phone = mask_phone(phone) if phone else ""
    if name and masked_phone:
        return f"{mask_name(name)}（{masked_phone}）"
    return mask_name(name) or masked_phone or "—"


def receipt_number(paid_at: datetime, sequence: int, prefix: str = "ZSB") -> str:
    """`ZSB` (or another series' prefix) + the Asia/Shanghai day of payment + the day's sequence, 6 digits (up
    to 999,999 a day)."""
    if not 1 <= sequence <= 999_999:
        raise ValueError(f"sequence out of range: {sequence}")
    return f"{prefix}{paid_at.astimezone(SHANGHAI):%Y%m%d}{sequence:06d}"


def _message(number: str, amount_fen: int, paid_at: datetime) -> bytes:
    if paid_at.tzinfo is None:
        raise ValueError("paid_at must be aware")
    return f"zsb-receipt/v1|{number}|{amount_fen}|{paid_at.astimezone(UTC):%Y%m%dT%H%M%SZ}".encode()


def receipt_code(key: bytes, number: str, amount_fen: int, paid_at: datetime) -> str:
    """The 10-character verification code, printed `XXXXX-XXXXX`."""
    digest = hmac.new(key, _message(number, amount_fen, paid_at), hashlib.sha256).digest()
    value = int.from_bytes(digest[:8], "big") >> (64 - _CODE_BITS)
    chars = "".join(CODE_ALPHABET[(value >> shift) & 31] for shift in range(_CODE_BITS - 5, -1, -5))
    return f"{chars[:5]}-{chars[5:]}"


def normalize_code(code: str) -> str:
    """What a person typed → `XXXXX-XXXXX` (case, hyphens, spaces, O/0 and I/L/1 forgiven), or '' if not a code."""
    chars = code.upper().translate(_TYPOS)
    if len(chars) != _CODE_BITS // 5 or any(c not in CODE_ALPHABET for c in chars):
        return ""
    return f"{chars[:5]}-{chars[5:]}"


def verify(keys: Sequence[bytes], number: str, amount_fen: int, paid_at: datetime, code: str) -> bool:
    """True when `code` is the code of (number, amount, paid time) under any key of the ring."""
    typed = normalize_code(code)
    if not typed:
        return False
    found = False
    for key in keys:  # every key, no early exit: the time taken does not say which key matched
        found |= hmac.compare_digest(receipt_code(key, number, amount_fen, paid_at), typed)
    return found


def parse_code_keys(secret: str) -> tuple[bytes, ...]:
    """`ZSB_RECEIPT_CODE_KEYS` → keys; comma-separated, the first signs, each at least 16 characters."""
    keys = tuple(part.strip().encode() for part in secret.split(",") if part.strip())
    if not keys or any(len(key) < MIN_KEY_LENGTH for key in keys):
        raise ValueError(f"ZSB_RECEIPT_CODE_KEYS: one or more keys of at least {MIN_KEY_LENGTH} characters")
    return keys


def verification_url(base_url: str, number: str, code: str) -> str:
    return f"{base_url.rstrip('/')}{VERIFY_PATH}?{urlencode({'no': number, 'code': code})}"


def build_receipt(payment: Payment, number: str, key: bytes, issued_at: datetime) -> Receipt:
    paid_at = bson_time(payment.paid_at)
    return Receipt(
        number=number, code=receipt_code(key, number, payment.total_fen, paid_at),
        out_trade_no=payment.out_trade_no, channel=payment.channel, transaction_id=payment.transaction_id,
        paid_at=paid_at, payer=payer_label(payment.payer_name, payment.payer_phone),
        student_name=payment.student_name, student_no=payment.student_no, school_name=payment.school_name,
        class_name=payment.class_name, items=payment.items, total_fen=payment.total_fen,
        issued_at=bson_time(issued_at), bill_id=payment.bill_id)


# -- storage ---------------------------------------------------------------------------------------------------
def to_document(receipt: Receipt) -> dict[str, Any]:
    return {
        "_id": receipt.number, "code": receipt.code, "out_trade_no": receipt.out_trade_no,
        "channel": receipt.channel, "transaction_id": receipt.transaction_id, "paid_at": receipt.paid_at,
        "payer": receipt.payer, "student": {"name": receipt.student_name, "no": receipt.student_no,
                                            "school": receipt.school_name, "class": receipt.class_name},
        "items": [{"name": i.name, "amount_fen": i.amount_fen, "note": i.note} for i in receipt.items],
        "total_fen": receipt.total_fen, "issued_at": receipt.issued_at, "bill_id": receipt.bill_id,
    }


def from_document(doc: dict[str, Any]) -> Receipt:
    student = doc["student"]
    return Receipt(
        number=doc["_id"], code=doc["code"], out_trade_no=doc["out_trade_no"], channel=doc["channel"],
        transaction_id=doc["transaction_id"], paid_at=doc["paid_at"].astimezone(UTC), payer=doc["payer"],
        student_name=student["name"], student_no=student["no"], school_name=student["school"],
        class_name=student["class"],
        items=tuple(ReceiptItem(i["name"], i["amount_fen"], i.get("note", "")) for i in doc["items"]),
        total_fen=doc["total_fen"], issued_at=doc["issued_at"].astimezone(UTC), bill_id=doc.get("bill_id", ""))


class ReceiptRepository(Repository):
    """`receipts`: one per paid order, keyed by its number."""

    collection_name = "receipts"
    indexes = (IndexModel([("out_trade_no", ASCENDING)], name="one_per_order", unique=True),
               IndexModel([("bill_id", ASCENDING)], name="by_bill"))

    async def insert(self, doc: dict[str, Any]) -> None:
        await self.collection.insert_one(doc)

    async def get(self, number: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": number})

    async def of_order(self, out_trade_no: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"out_trade_no": out_trade_no})

    async def of_orders(self, out_trade_nos: list[str]) -> list[dict[str, Any]]:
        return await self.collection.find({"out_trade_no": {"$in": out_trade_nos}}).to_list(None)

    async def insert_new(self, docs: list[dict[str, Any]]) -> set[str]:
        """Insert what is new; the out_trade_nos actually inserted (another issuer's receipt for the order
        existing already is the lost race, not an error)."""
        return {docs[i]["out_trade_no"] for i in await insert_new(self.collection, docs)}


class ReceiptCounterRepository(Repository):
    """`receipt_counters`: the last sequence number given out per Asia/Shanghai day (`_id` `YYYYMMDD`)."""

    collection_name = "receipt_counters"

    async def next(self, day: str) -> int:
        """The day's next number."""
        return await self.next_block(day, 1)

    async def next_block(self, day: str, count: int) -> int:
        """`count` consecutive numbers of the day in one write; returns the first. Two first issues of a day
        may race to create its counter: the upsert that loses gets DuplicateKeyError (the server does not retry
        it for us), or on the local server no document at all; it then increments the winner's."""
        for _ in range(3):
            try:
                doc = await self.collection.find_one_and_update(
                    {"_id": day}, {"$inc": {"seq": count}}, upsert=True, return_document=ReturnDocument.AFTER)
            except DuplicateKeyError:
                continue
            if doc is not None:
                return int(doc["seq"]) - count + 1
        raise RuntimeError(f"receipt counter {day}: no number after three attempts")


REPOSITORIES: tuple[type[Repository], ...] = (ReceiptRepository, ReceiptCounterRepository)


class ReceiptBook:
    """Issues, finds and checks receipts. `keys` from `parse_code_keys(settings.receipt_code_keys)`."""

    def __init__(self, receipts: ReceiptRepository, counters: ReceiptCounterRepository,
                 keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("at least one receipt code key")
        self.receipts, self.counters, self.keys = receipts, counters, tuple(keys)

    async def issue(self, payment: Payment, *, now: datetime | None = None) -> Receipt:
        """The payment's receipt, made once: calling again (a retry, a duplicate callback) returns the same one."""
        existing = await self.receipts.of_order(payment.out_trade_no)
        if existing is not None:
            return from_document(existing)
        day = f"{payment.paid_at.astimezone(SHANGHAI):%Y%m%d}"
        number = receipt_number(payment.paid_at, await self.counters.next(day))
        receipt = build_receipt(payment, number, self.keys[0], now or datetime.now(UTC))
        try:
            await self.receipts.insert(to_document(receipt))
        except DuplicateKeyError:  # a concurrent issue for the same order won; its receipt is the one
            existing = await self.receipts.of_order(payment.out_trade_no)
            if existing is None:
                raise
            return from_document(existing)
        return receipt

    async def issue_many(self, payments: Sequence[Payment], *, now: datetime | None = None) -> dict[str, Receipt]:
        """`issue` for a batch (the receipts of a burst of callbacks): the receipts already issued read in one
        query, numbers taken in one block per day, the new ones inserted at once. Receipt by out_trade_no; a
        receipt another issuer inserted meanwhile is returned instead of ours (whose number is then unused, as
        when `issue` loses that race)."""
        wanted = list({p.out_trade_no: p for p in payments}.values())
        found = {d["out_trade_no"]: from_document(d)
                 for d in await self.receipts.of_orders([p.out_trade_no for p in wanted])}
        by_day: dict[str, list[Payment]] = {}
        for payment in wanted:
            if payment.out_trade_no not in found:
                by_day.setdefault(f"{payment.paid_at.astimezone(SHANGHAI):%Y%m%d}", []).append(payment)
        moment = now or datetime.now(UTC)
        fresh: list[Receipt] = []
        for day, group in by_day.items():
            first = await self.counters.next_block(day, len(group))
            fresh += [build_receipt(p, receipt_number(p.paid_at, first + i), self.keys[0], moment)
                      for i, p in enumerate(group)]
        inserted = await self.receipts.insert_new([to_document(r) for r in fresh])
        found.update({r.out_trade_no: r for r in fresh if r.out_trade_no in inserted})
        lost = [r.out_trade_no for r in fresh if r.out_trade_no not in inserted]
        if lost:
            found.update({d["out_trade_no"]: from_document(d) for d in await self.receipts.of_orders(lost)})
        return found

    async def get(self, number: str) -> Receipt | None:
        doc = await self.receipts.get(number)
        return from_document(doc) if doc else None

    async def of_order(self, out_trade_no: str) -> Receipt | None:
        doc = await self.receipts.of_order(out_trade_no)
        return from_document(doc) if doc else None

    async def check(self, number: str, code: str) -> Receipt | None:
        """The receipt when `code` verifies for the stored number, amount and paid time; None otherwise (an
        unknown number and a wrong code look the same to the caller)."""
        receipt = await self.get(number.strip().upper())
        if receipt is None or not verify(self.keys, receipt.number, receipt.total_fen, receipt.paid_at, code):
            return None
        return receipt


def receipt_book(db: AsyncDatabase[dict[str, Any]], settings: Settings) -> ReceiptBook:
    """The book of the settings' keys (a bad `ZSB_RECEIPT_CODE_KEYS` fails here, at start-up)."""
    return ReceiptBook(ReceiptRepository(db), ReceiptCounterRepository(db),
                       parse_code_keys(settings.receipt_code_keys.get_secret_value()))
