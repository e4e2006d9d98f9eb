"""Files as phones produce them (real JPEG/PNG with camera EXIF and GPS, made with Pillow), and uploads to the
URLs a slot returns, sent the way `wx.uploadFile` (multipart POST) or an H5 page (PUT) sends them."""

from __future__ import annotations

import io
import os
from typing import Any

import httpx
from PIL import Image

GPS_IFD, EXIF_IFD, ORIENTATION = 0x8825, 0x8769, 0x0112
PDF = b"%PDF-1.7\n" + os.urandom(2000)
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + os.urandom(3000)


def camera_exif(orientation: int = 1) -> Image.Exif:
    """What a phone camera writes: maker, model, serial numbers, the place (宁乡市, GPS) and the orientation."""
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F], exif[0x0110] = "Apple", "iPhone 15 Pro"
    gps = exif.get_ifd(GPS_IFD)
    gps.update({1: "N", 2: (28.0, 16.0, 39.5), 3: "E", 4: (112.0, 33.0, 12.25)})
    camera = exif.get_ifd(EXIF_IFD)
    camera.update({0xA431: "F17XK2SERIAL", 0xA435: "LENS-0042", 0xA430: "王芳"})
    return exif


def photo(width: int = 64, height: int = 32, *, fmt: str = "JPEG", orientation: int = 1, noise: bool = False,
          **save: Any) -> bytes:
    """A photo with camera EXIF (GPS included); `noise` makes it incompressible (for size-bound tests)."""
    if noise:
        image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        image = Image.new("RGB", (width, height), (180, 30, 30))
        image.paste((20, 20, 200), (0, 0, width // 2, height // 2))  # a corner, to see a rotation
    out = io.BytesIO()
    image.save(out, fmt, exif=camera_exif(orientation), **save)
    return out.getvalue()


def exif_of(data: bytes) -> tuple[dict[int, Any], dict[int, Any], dict[int, Any]]:
    """(base IFD, GPS IFD, Exif IFD) of an image."""
    with Image.open(io.BytesIO(data)) as image:
        exif = image.getexif()
        return dict(exif), dict(exif.get_ifd(GPS_IFD)), dict(exif.get_ifd(EXIF_IFD))


async def upload(slot_upload: dict[str, Any], data: bytes, content_type: str, name: str = "photo.jpg",
                 **fields: str) -> httpx.Response:
    """Send `data` to the slot's URL: multipart POST with the policy fields (what `wx.uploadFile` sends; a
    client may try to change the Content-Type field), or a PUT of the raw body with the slot's headers."""
    async with httpx.AsyncClient(timeout=30) as s3:
        if slot_upload["method"] == "POST":
            form = slot_upload["fields"] | {"Content-Type": content_type} | fields
            return await s3.post(slot_upload["url"], data=form, files={"file": (name, data, content_type)})
        return await s3.put(slot_upload["url"], content=data, headers=slot_upload["headers"])
