"""Opaque pagination cursors: the sort key of the last row returned, never an offset.

A page is "the rows after this key", so rows inserted or removed while someone pages never shift what they see
next (with skip/limit a row published meanwhile pushes one row into the next page twice) and a deep page costs
the same as the first. The cursor is URL-safe base64 of a small JSON array: opaque to clients, not secret —
tampering only moves where the page starts, and the query's filters are applied again on every page. A
fingerprint of the filters rides along so a cursor is refused with other filters instead of silently
paging the wrong list.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

MAX_CURSOR_CHARS = 512


class CursorInvalid(ValueError):
    """The cursor is not one of ours or belongs to another query; the message is Chinese, for the field error."""

    def __init__(self) -> None:
        super().__init__("翻页标记无效或已过期，请从第一页重新加载")


def fingerprint(filters: dict[str, Any]) -> str:
    """A short, stable digest of the filters a cursor belongs to."""
    canonical = json.dumps(filters, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def encode_cursor(position: list[Any], filters: dict[str, Any]) -> str:
    """`position` is the sort key of the last row, id last (e.g. `[tier, sort_key, id]`)."""
    raw = json.dumps([fingerprint(filters), *position], ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, filters: dict[str, Any], *, size: int) -> list[Any]:
    """The position stored by `encode_cursor` (`size` items of str/int), or CursorInvalid."""
    if not cursor or len(cursor) > MAX_CURSOR_CHARS:
        raise CursorInvalid()
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise CursorInvalid() from None
    if not isinstance(value, list) or len(value) != size + 1 or value[0] != fingerprint(filters):
        raise CursorInvalid()
    position = value[1:]
    if not all(isinstance(item, str | int) and not isinstance(item, bool) for item in position):
        raise CursorInvalid()
    return position
