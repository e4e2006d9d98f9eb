"""Credit notes (红字票据, 冲红): one per refund that settled, cancelling that much of the payment's e-receipt.

    Receipt (the payment) + Refunded (one settled refund of it) ──issue──▶ CreditNote (numbered, coded, stored)
                                                                            └─▶ credit_note_pdf → PDF bytes

Why a document of its own rather than an edit of the receipt: a receipt that was printed, forwarded or checked
must stay what it was; the refund is a second, negative document that names it (`original_number`), as a red
invoice names the blue one. The receipt then shows that it has been partly or fully 冲红 (`credit_status`).

- Number: `ZSBH` + the Asia/Shanghai day the refund settled + that day's sequence (`ZSBH20260902000001`), from
  the same atomic day counters as receipts under their own key (`H20260902`), so credit-note numbers are unique,
  dense and never mistaken for a receipt's.
- Exactly one per refund: the unique index `one_per_refund` on `refund_id`; `issue` returns the note already
  made to a retried or concurrent call (a lost race leaves a gap in the day's sequence, never a duplicate).
- Amounts are negative integer fen (the refunded amount, so a partial refund gives a partial credit note), and
  never more than the receipt's total.
- Verification: the receipt scheme exactly (payments/receipts.py): HMAC of (number, amount — negative —, the
  time the refund settled) under `ZSB_RECEIPT_CODE_KEYS`, the same QR target `/api/v1/receipts/verify`.
- The payer, student and school are copied from the receipt (already masked there).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from core.clock import bson_time
from core.mongo import Repository
from payments.receipts import (
    CHANNELS,
    SHANGHAI,
    Receipt,
    ReceiptCounterRepository,
    ReceiptItem,
    receipt_code,
    receipt_number,
    verify,
)

PREFIX = "ZSBH"


@dataclass(frozen=True, slots=True)
class Refunded:
    """A settled refund as the refund code knows it: the input of `CreditNoteBook.issue`."""

    refund_id: str
    out_refund_no: str
    out_trade_no: str
    amount_fen: int  # what went back, positive
    reason: str
    settled_at: datetime  # aware
    provider_refund_id: str = ""


@dataclass(frozen=True, slots=True)
class CreditNote:
    number: str
    code: str
    original_number: str  # the receipt it cancels (in part)
    refund_id: str
    out_refund_no: str
    out_trade_no: str
    channel: str
    provider_refund_id: str
    refunded_at: datetime  # aware UTC
    reason: str
    payer: str  # masked, as on the receipt
    student_name: str
    student_no: str
    school_name: str
    class_name: str
    items: tuple[ReceiptItem, ...]  # negative amounts
    total_fen: int  # negative
    issued_at: datetime
    bill_id: str = ""

    @property
    def channel_label(self) -> str:
        return CHANNELS[self.channel]

    @property
    def refunded_at_local(self) -> datetime:
        return self.refunded_at.astimezone(SHANGHAI)


@dataclass(frozen=True, slots=True)
class CreditStatus:
    """What a receipt shows of its credit notes: none (未冲红), partial (部分冲红) or full (全额冲红)."""

    state: str
    credited_fen: int  # positive: how much of the receipt has been cancelled
    notes: tuple[CreditNote, ...]

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.state]


STATUS_LABELS = {"none": "未冲红", "partial": "部分冲红", "full": "全额冲红"}


def credit_note_number(settled_at: datetime, sequence: int) -> str:
    return receipt_number(settled_at, sequence, PREFIX)


def is_credit_note_number(number: str) -> bool:
    return number.startswith(PREFIX)


def build_credit_note(original: Receipt, refund: Refunded, number: str, key: bytes,
                      issued_at: datetime) -> CreditNote:
    """The credit note of `refund` against `original` (ValueError when they do not belong together)."""
    if refund.out_trade_no != original.out_trade_no:
        raise ValueError(f"refund {refund.refund_id} is not of the payment of receipt {original.number}")
    if isinstance(refund.amount_fen, bool) or not 0 < refund.amount_fen <= original.total_fen:
        raise ValueError(f"refund {refund.refund_id}: 1 to {original.total_fen} fen may be credited")
    if refund.settled_at.tzinfo is None:
        raise ValueError("settled_at must be aware")
    settled = bson_time(refund.settled_at)
    first = original.items[0]
    items = (ReceiptItem(first.name, -refund.amount_fen, first.note),)
    return CreditNote(
        number=number, code=receipt_code(key, number, -refund.amount_fen, settled),
        original_number=original.number, refund_id=refund.refund_id, out_refund_no=refund.out_refund_no,
        out_trade_no=original.out_trade_no, channel=original.channel,
        provider_refund_id=refund.provider_refund_id or "", refunded_at=settled, reason=refund.reason,
        payer=original.payer, student_name=original.student_name, student_no=original.student_no,
        school_name=original.school_name, class_name=original.class_name, items=items,
        total_fen=-refund.amount_fen, issued_at=bson_time(issued_at), bill_id=original.bill_id)


def credit_status(receipt: Receipt, notes: Iterable[CreditNote]) -> CreditStatus:
    mine = tuple(sorted((n for n in notes if n.original_number == receipt.number), key=lambda n: n.number))
    credited = -sum(n.total_fen for n in mine)
    state = "none" if not credited else "full" if credited >= receipt.total_fen else "partial"
    return CreditStatus(state, credited, mine)


# -- storage ---------------------------------------------------------------------------------------------------
def to_document(note: CreditNote) -> dict[str, Any]:
    return {
        "_id": note.number, "code": note.code, "original_number": note.original_number,
        "refund_id": note.refund_id, "out_refund_no": note.out_refund_no, "out_trade_no": note.out_trade_no,
        "channel": note.channel, "provider_refund_id": note.provider_refund_id, "refunded_at": note.refunded_at,
        "reason": note.reason, "payer": note.payer,
        "student": {"name": note.student_name, "no": note.student_no, "school": note.school_name,
                    "class": note.class_name},
        "items": [{"name": i.name, "amount_fen": i.amount_fen, "note": i.note} for i in note.items],
        "total_fen": note.total_fen, "issued_at": note.issued_at, "bill_id": note.bill_id,
    }


def from_document(doc: dict[str, Any]) -> CreditNote:
    student = doc["student"]
    return CreditNote(
        number=doc["_id"], code=doc["code"], original_number=doc["original_number"], refund_id=doc["refund_id"],
        out_refund_no=doc["out_refund_no"], out_trade_no=doc["out_trade_no"], channel=doc["channel"],
        provider_refund_id=doc.get("provider_refund_id") or "", refunded_at=doc["refunded_at"].astimezone(UTC),
        reason=doc["reason"], payer=doc["payer"], student_name=student["name"], student_no=student["no"],
        school_name=student["school"], class_name=student["class"],
        items=tuple(ReceiptItem(i["name"], i["amount_fen"], i.get("note", "")) for i in doc["items"]),
        total_fen=doc["total_fen"], issued_at=doc["issued_at"].astimezone(UTC), bill_id=doc.get("bill_id", ""))


class CreditNoteRepository(Repository):
    """`credit_notes`: one per settled refund, keyed by its number."""

    collection_name = "credit_notes"
    indexes = (IndexModel([("refund_id", ASCENDING)], name="one_per_refund", unique=True),
               IndexModel([("original_number", ASCENDING)], name="by_receipt"),
               IndexModel([("bill_id", ASCENDING)], name="by_bill"))

    async def insert(self, doc: dict[str, Any]) -> None:
        await self.collection.insert_one(doc)

    async def get(self, number: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": number})

    async def of_refund(self, refund_id: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"refund_id": refund_id})

    async def of_receipt(self, number: str) -> list[dict[str, Any]]:
        cursor = self.collection.find({"original_number": number}).sort("_id", ASCENDING)
        return [doc async for doc in cursor]


class CreditNoteBook:
    """Issues, finds and checks credit notes; `keys` are the receipts' (`parse_code_keys`)."""

    def __init__(self, notes: CreditNoteRepository, counters: ReceiptCounterRepository,
                 keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("at least one receipt code key")
        self.notes, self.counters, self.keys = notes, counters, tuple(keys)

    async def issue(self, original: Receipt, refund: Refunded, *, now: datetime | None = None) -> CreditNote:
        """The refund's credit note, made once: calling again (a retry, a second settlement) returns the same."""
        existing = await self.notes.of_refund(refund.refund_id)
        if existing is not None:
            return from_document(existing)
        day = f"H{refund.settled_at.astimezone(SHANGHAI):%Y%m%d}"
        number = credit_note_number(refund.settled_at, await self.counters.next(day))
        note = build_credit_note(original, refund, number, self.keys[0], now or datetime.now(UTC))
        try:
            await self.notes.insert(to_document(note))
        except DuplicateKeyError:  # a concurrent issue for the same refund won; its note is the one
            existing = await self.notes.of_refund(refund.refund_id)
            if existing is None:
                raise
            return from_document(existing)
        return note

    async def get(self, number: str) -> CreditNote | None:
        doc = await self.notes.get(number)
        return from_document(doc) if doc else None

    async def of_refund(self, refund_id: str) -> CreditNote | None:
        doc = await self.notes.of_refund(refund_id)
        return from_document(doc) if doc else None

    async def status(self, receipt: Receipt) -> CreditStatus:
        return credit_status(receipt, [from_document(d) for d in await self.notes.of_receipt(receipt.number)])

    async def check(self, number: str, code: str) -> CreditNote | None:
        """The credit note when `code` verifies for its number, (negative) amount and refund time; else None."""
        note = await self.get(number.strip().upper())
        if note is None or not verify(self.keys, note.number, note.total_fen, note.refunded_at, code):
            return None
        return note
