"""What a document may be, per purpose, and what its first bytes say it is (pure functions, unit-tested).

HEIC (the iPhone camera default) is refused, not converted: converting needs libheif with an HEVC decoder (a
native dependency with patent licensing) in the API or a worker, and staff workstations cannot open HEIC anyway.
`wx.chooseMedia` and `wx.chooseImage` already hand the mini-program a JPEG when `sizeType` includes
`compressed`, so only H5 users who pick an original HEIC see the message, which tells them what to do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

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


PURPOSE_NAMES = {Purpose.PHOTO: "照片（JPG/PNG）", Purpose.PDF: "PDF 文件", Purpose.OFD: "OFD 文件"}


def allowed_purposes(material: Any) -> frozenset[Purpose]:
    """The purposes (kinds of upload) a guide's material accepts: its `accepts` list, or every purpose when it
    names none (guides written before the field existed, and materials that take anything). `material` is an
    `affairs.matter_model.Material` or the same material as a stored dict (a frozen guide version); the case
    workflow calls this when attaching, and passes the result to `Documents.attach(allowed=...)`."""
    accepts = material.get("accepts") if isinstance(material, Mapping) else getattr(material, "accepts", None)
    return frozenset(Purpose(p) for p in accepts) if accepts else frozenset(Purpose)


def describe_purposes(purposes: Iterable[Purpose]) -> str:
    return "、".join(PURPOSE_NAMES[p] for p in Purpose if p in set(purposes))


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


# -- blank forms and samples of the catalogue (样表): what a department may publish for residents to download --
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOC, XLS = "application/msword", "application/vnd.ms-excel"
FORM_MAX_BYTES = 20 * MB
FORM_TYPES = {PDF: "pdf", DOCX: "docx", XLSX: "xlsx", DOC: "doc", XLS: "xls", JPEG: "jpg", PNG: "png"}
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the compound file of Word 97-2003 / Excel 97-2003


def sniff_form(head: bytes, claimed: str) -> bool:
    """Do the first bytes fit the claimed type of a form file? Office files are containers (zip for docx/xlsx,
    OLE for doc/xls): the container is what the bytes can prove."""
    if claimed in (DOCX, XLSX):
        return head.startswith(b"PK\x03\x04")
    if claimed in (DOC, XLS):
        return head.startswith(_OLE)
    return claimed in FORM_TYPES and sniff(head) == claimed
