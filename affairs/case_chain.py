"""The audit chain of a case: each history event stores the hash of the one before it.

An event's hash covers its canonical JSON (sorted keys, UTC times in ISO 8601) and the previous hash, so editing,
deleting or reordering any stored event breaks every hash after it; the case document keeps the head hash and the
event count, so dropping the newest events is caught too. Verification reports the first event that fails and why.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64
HASHED_OUT = ("_id", "hash")  # the storage key and the hash itself are not part of what is hashed


def _default(value: Any) -> str:
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat(timespec="milliseconds")
    raise TypeError(f"cannot hash a {type(value).__name__}")


def canonical(event: dict[str, Any]) -> bytes:
    body = {key: value for key, value in event.items() if key not in HASHED_OUT}
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_default).encode()


def event_hash(event: dict[str, Any]) -> str:
    """The hash of an event whose `prev_hash` is already set."""
    return hashlib.sha256(canonical(event)).hexdigest()


def seal(event: dict[str, Any], prev_hash: str) -> dict[str, Any]:
    """The event with `prev_hash` and `hash` filled in, ready to store."""
    sealed = {**event, "prev_hash": prev_hash}
    sealed["hash"] = event_hash(sealed)
    return sealed


@dataclass(frozen=True, slots=True)
class ChainReport:
    ok: bool
    events: int
    broken_at_seq: int | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "events": self.events, "broken_at_seq": self.broken_at_seq, "reason": self.reason}


def verify(events: list[dict[str, Any]], *, head_hash: str, expected_count: int) -> ChainReport:
    """Check events (ordered by seq, starting at 1) against themselves and the case's head hash and count."""
    prev = GENESIS
    for position, event in enumerate(events, start=1):
        seq = event.get("seq")
        if seq != position:
            return ChainReport(False, len(events), position, f"第 {position} 条记录缺失或顺序被改动")
        if event.get("prev_hash") != prev:
            return ChainReport(False, len(events), position, f"第 {position} 条记录与前一条的链接不符")
        if event_hash(event) != event.get("hash"):
            return ChainReport(False, len(events), position, f"第 {position} 条记录的内容被改动")
        prev = event["hash"]
    if len(events) != expected_count:
        missing_from = min(len(events), expected_count) + 1
        return ChainReport(False, len(events), missing_from, f"记录条数为 {len(events)}，应为 {expected_count}")
    if prev != head_hash:
        return ChainReport(False, len(events), len(events) or None, "最后一条记录与办件保存的链头不符")
    return ChainReport(True, len(events))
