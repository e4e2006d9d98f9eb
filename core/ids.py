"""Identifiers: ULIDs as 26-character strings (time-sortable, URL-safe)."""

import re

from ulid import ULID

ULID_PATTERN = "[0-9A-HJKMNP-TV-Z]{26}"
_ULID_RE = re.compile(f"^{ULID_PATTERN}$")


def new_id() -> str:
    return str(ULID())


def is_id(value: str) -> bool:
    return bool(_ULID_RE.match(value))
