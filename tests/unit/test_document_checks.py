"""What the first bytes of an upload prove, and the per-purpose limits."""

from __future__ import annotations

import pytest

from storage.document_checks import (
    DOC,
    DOCX,
    HEIC,
    JPEG,
    LIMITS,
    MB,
    OFD,
    PDF,
    PNG,
    XLSX,
    Purpose,
    allowed_purposes,
    describe_limit,
    describe_purposes,
    sniff,
    sniff_form,
)


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


def test_allowed_purposes_of_a_material_model_a_stored_dict_and_an_old_guide() -> None:
    from affairs.matter_model import Material

    body = {"name": "身份证", "original_count": 1, "copy_count": 0, "source": "applicant"}
    assert allowed_purposes(Material(**body, accepts=["photo", "pdf"])) == {Purpose.PHOTO, Purpose.PDF}
    assert allowed_purposes(body | {"accepts": ["ofd"]}) == {Purpose.OFD}  # a frozen version, as stored
    assert allowed_purposes(body) == set(Purpose) == allowed_purposes(Material(**body))  # none said: any
    with pytest.raises(ValueError, match="重复"):
        Material(**body, accepts=["photo", "photo"])
    assert describe_purposes({Purpose.PDF, Purpose.PHOTO}) == "照片（JPG/PNG）、PDF 文件"


@pytest.mark.parametrize(("head", "claimed", "fits"), [
    (b"%PDF-1.7\n", PDF, True),
    (b"PK\x03\x04\x14\x00", DOCX, True),
    (b"PK\x03\x04\x14\x00", XLSX, True),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", DOC, True),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", DOCX, False),
    (b"MZ\x90\x00", PDF, False),
    (b"%PDF-1.7\n", "application/x-msdownload", False),
])
def test_form_files_are_checked_by_their_container(head: bytes, claimed: str, fits: bool) -> None:
    assert sniff_form(head, claimed) is fits
