"""What the first bytes of an upload prove, and the per-purpose limits."""

from __future__ import annotations

import pytest

from storage.document_checks import HEIC, JPEG, LIMITS, MB, OFD, PDF, PNG, Purpose, describe_limit, sniff


@pytest.mark.parametrize(("head", "expected"), [
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", JPEG),
    (b"\x89PNG\r\n\x1a\n\x00\x00", PNG),
    (b"%PDF-1.7\n", PDF),
    (b"PK\x03\x04\x14\x00", OFD),
    (b"\x00\x00\x00\x18ftypheic\x00\x00", HEIC),
    (b"MZ\x90\x00\x03\x00", None),  # a Windows executable
    (b"GIF89a", None),
    (b"", None),
])
def test_sniff(head: bytes, expected: str | None) -> None:
    assert sniff(head) == expected


def test_limits() -> None:
    assert LIMITS[Purpose.PHOTO].max_bytes == 10 * MB and LIMITS[Purpose.PHOTO].types == {JPEG, PNG}
    assert LIMITS[Purpose.PDF].max_bytes == 20 * MB
    assert describe_limit(Purpose.PHOTO) == "仅支持JPG 图片、PNG 图片，且不超过 10 MB"
