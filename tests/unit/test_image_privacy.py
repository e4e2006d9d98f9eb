"""The copy of a photo that staff see: no GPS, no device or owner, no XMP, upright; and refusals a resident can
act on for images that do not decode or would decompress to gigabytes."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image

from storage.image_privacy import MAX_PIXELS, ImageRefused, clean_copy
from tests.support.documents import exif_of, photo

XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><exif:GPSLatitude>28,16.6N</exif:GPSLatitude></x:xmpmeta>'


def test_jpeg_loses_gps_serials_and_xmp_and_is_turned_upright() -> None:
    original = photo(64, 32, orientation=6, xmp=XMP)
    base, gps, camera = exif_of(original)
    assert gps[2] == (28.0, 16.0, 39.5) and camera[0xA431] == "F17XK2SERIAL" and XMP in original
    clean = clean_copy(original, "image/jpeg")
    assert exif_of(clean.data) == ({}, {}, {})
    assert XMP not in clean.data and b"F17XK2SERIAL" not in clean.data and b"iPhone" not in clean.data
    assert clean.removed[0] == "gps" and {"exif", "xmp", "body_serial_number", "lens_serial_number",
                                          "owner_name", "make", "model"} <= set(clean.removed)
    with Image.open(io.BytesIO(clean.data)) as image:
        assert (image.format, image.size) == ("JPEG", (32, 64))  # rotated 90°: what the phone showed
        assert image.getpixel((31, 0))[2] > 150  # the blue top-left corner is now top-right
    assert (clean.orientation_applied, clean.width, clean.height) == (6, 32, 64)
    assert clean.original_sha256 == hashlib.sha256(original).hexdigest() and clean.original_size == len(original)
    assert clean.sha256 == hashlib.sha256(clean.data).hexdigest()


def test_png_loses_its_exif_chunk_and_stays_lossless() -> None:
    original = photo(20, 10, fmt="PNG")
    assert exif_of(original)[1]
    clean = clean_copy(original, "image/png")
    assert exif_of(clean.data) == ({}, {}, {}) and b"eXIf" not in clean.data
    with Image.open(io.BytesIO(original)) as before, Image.open(io.BytesIO(clean.data)) as after:
        assert after.format == "PNG" and after.tobytes() == before.tobytes()


def test_a_clean_photo_stays_as_it_was_apart_from_encoding() -> None:
    image = Image.new("RGB", (16, 16), (10, 200, 10))
    out = io.BytesIO()
    image.save(out, "JPEG")
    clean = clean_copy(out.getvalue(), "image/jpeg")
    assert (clean.removed, clean.orientation_applied, clean.width, clean.height) == ((), 1, 16, 16)


@pytest.mark.parametrize("data", [photo()[:300], b"\xff\xd8\xff\xe0" + bytes(100), b"\x89PNG\r\n\x1a\n" + bytes(50)])
def test_undecodable_images_are_refused_with_a_reason(data: bytes) -> None:
    with pytest.raises(ImageRefused, match="无法打开"):
        clean_copy(data, "image/png" if data.startswith(b"\x89PNG") else "image/jpeg")


def test_a_decompression_bomb_is_refused_before_decoding() -> None:
    side = int(MAX_PIXELS**0.5) + 100
    out = io.BytesIO()
    Image.new("1", (side, side)).save(out, "PNG")  # a few KB of PNG, ~60 million pixels
    assert len(out.getvalue()) < 100_000
    with pytest.raises(ImageRefused, match="像素过大"):
        clean_copy(out.getvalue(), "image/png")


def test_a_jpeg_claimed_as_png_is_not_opened_as_something_else() -> None:
    with pytest.raises(ImageRefused):
        clean_copy(photo(), "image/png")
