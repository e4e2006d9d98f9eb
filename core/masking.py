"""Masking of citizen ID numbers and mobile numbers wherever they appear in free text.

Used by the log processor (every line) and by response models. The formats follow the design map:
`320402********1234` and `138****5678`.
"""

from __future__ import annotations

import re
from typing import Any

# 18-character resident ID (GB 11643): 6 region + 8 birth date + 3 sequence + check digit (0-9 or X).
# The 15-digit pre-1999 form is masked too. The birth date must look like one, so order numbers and
# timestamps stay readable; letters/digits around the number must not continue it.
_DATE = r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
_ID_RE = re.compile(rf"(?<![0-9A-Za-z])\d{{6}}(?:18|19|20)\d{{2}}{_DATE}\d{{3}}[0-9Xx](?![0-9A-Za-z])")
_ID15_RE = re.compile(rf"(?<![0-9A-Za-z])\d{{6}}\d{{2}}{_DATE}\d{{3}}(?![0-9A-Za-z])")
# Mainland mobile numbers, optionally prefixed with +86 / 86 / 0086.
_PHONE_RE = re.compile(r"(?<![0-9])((?:\+?86|0086)?[- ]?)(1[3-9]\d)(\d{4})(\d{4})(?![0-9])")


def mask_id_number(number: str) -> str:
    """`320402199001011234` → `320402********1234`; anything shorter keeps only its last 4 characters."""
    if len(number) >= 10:
        return number[:6] + "*" * (len(number) - 10) + number[-4:]
    return "*" * max(len(number) - 4, 0) + number[-4:]


def mask_phone(number: str) -> str:
    """`13812345678` → `138****5678`."""
    digits = number[-11:]
    return digits[:3] + "****" + digits[-4:] if len(digits) == 11 else "*" * len(number)


# Every maskable number holds a run of at least 11 digits: one C-level scan rules most strings out.
_CANDIDATE_RE = re.compile(r"\d{11}")


def mask_text(text: str) -> str:
    """Mask every ID or mobile number inside free text (log messages, URLs, error strings)."""
    if _CANDIDATE_RE.search(text) is None:
        return text
    text = _ID_RE.sub(lambda m: mask_id_number(m[0]), text)
    text = _ID15_RE.sub(lambda m: mask_id_number(m[0]), text)
    return _PHONE_RE.sub(lambda m: f"{m[1]}{m[2]}****{m[4]}", text)


def mask_value(value: Any) -> Any:
    """Recursively mask strings inside dicts, lists and tuples; other values are returned unchanged."""
    kind = type(value)
    if kind is str:
        return mask_text(value)
    if kind is int or kind is float or value is None:
        return value
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(mask_value(v) for v in value)
    return value


def find_unmasked(text: str) -> list[str]:
    """Every citizen ID or mobile number still in clear in `text` (used by the privacy scan of the test suite).

    Stricter than masking at the edges: a number glued to letters (inside a hex digest or a base64 token) is not
    a stored phone number, while masking errs the other way and hides anything that could be one.
    """
    return [m[0] for regex in (_ID_RE, _ID15_RE, _PHONE_STANDALONE_RE) for m in regex.finditer(text)]


_PHONE_STANDALONE_RE = re.compile(r"(?<![0-9A-Za-z])(?:\+?86)?1[3-9]\d{9}(?![0-9A-Za-z])")


def mask_name(name: str) -> str:
    """A person's name as a message to someone else shows it: `王芳` → `王*`, `陈志强` → `陈*强`, `欧阳娜娜` → `欧**娜`
    (the first character, and the last from three on)."""
    name = name.strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
