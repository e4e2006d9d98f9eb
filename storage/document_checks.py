"""What a document may be, per purpose, and what its first bytes say it is (pure functions, unit-tested).

HEIC (the iPhone camera default) is refused, not converted: converting needs libheif with an HEVC decoder (a
native dependency with patent licensing) in the API or a worker, and staff workstations cannot open HEIC anyway.
`wx.chooseMedia` and `wx.chooseImage` already hand the mini-program a JPEG when `sizeType` includes
`compressed`, so only H5 users who pick an original HEIC see the message, which tells them what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

MB = 1024 * 1024
JPEG, PNG, PDF, OFD, HEIC = "image/jpeg", "image/png", "application/pdf", "application/ofd", "image/heic"
HEIC_REFUSED = "暂不支持 HEIC 格式的照片，请在手机“设置-相机-格式”中选择“兼容性最佳”，或转为 JPG 后重新上传"
SNIFF_BYTES = 16


class Purpose(StrEnum):
    PHOTO = "photo"  # a photographed material: ID card, certificate, a page of a form
    PDF = "pdf"  # a scanned or generated PDF
    OFD = "ofd"  # an OFD (GB/T 33190) document, e.g. an e-invoice or an e-certificate


@dataclass(frozen=True, slots=True)
class Limit:
    max_bytes: int
    types: frozenset[str]


LIMITS: dict[Purpose, Limit] = {
    Purpose.PHOTO: Limit(10 * MB, frozenset({JPEG, PNG})),
    Purpose.PDF: Limit(20 * MB, frozenset({PDF})),
    Purpose.OFD: Limit(20 * MB, frozenset({OFD})),
}

NAMES = {JPEG: "JPG 图片", PNG: "PNG 图片", PDF: "PDF 文件", OFD: "OFD 文件"}


def describe_limit(purpose: Purpose) -> str:
    limit = LIMITS[purpose]
    kinds = "、".join(NAMES[t] for t in sorted(limit.types))
    return f"仅支持{kinds}，且不超过 {limit.max_bytes // MB} MB"


def sniff(head: bytes) -> str | None:
    """The media type the first bytes prove, or None for anything else (an executable, a text file, …)."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"PK\x03\x04"):
        return OFD  # an OFD is a zip container; the only zip kind a purpose allows
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"heim", b"heis"):
        return HEIC
    return None
