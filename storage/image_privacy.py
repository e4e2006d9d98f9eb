"""The copy of a photo that staff see: pixels only, no metadata (pure CPU work; callers run it in a thread).

A phone photo's EXIF says where it was taken (GPS), with which device (make, model, body and lens serial
numbers, owner name, a unique image id) and when; XMP and IPTC blocks can repeat all of it, and the EXIF
thumbnail is a second, unedited picture. None of it is needed to read an ID card or a certificate, so the copy
keeps none of it (data minimisation, 个人信息保护法 art. 6) rather than a list of "bad" tags that a new camera
would get around. The one thing EXIF carries that matters is the orientation: it is applied to the pixels, so
the copy displays upright everywhere. The colour profile (ICC) is kept: it describes colours, not people.

The copy replaces the upload (docs/documents.md): the original's SHA-256 and size are recorded, the bytes with
the metadata are not kept. JPEG is re-encoded at quality 92 (text on a document stays sharp); PNG is lossless.
An image that does not decode, or is larger than MAX_PIXELS (a decompression bomb: a few MB of PNG can inflate
to gigabytes), is refused with a reason the resident can act on.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps

from storage.document_checks import JPEG, PNG

MAX_PIXELS = 60_000_000  # a 50 MP phone photo fits; a decoded 60 MP RGB image is ~180 MB, bounded per worker
JPEG_QUALITY = 92
_ORIENTATION, _GPS_IFD, _EXIF_IFD = 0x0112, 0x8825, 0x8769
_IDENTIFYING = {0x010F: "make", 0x0110: "model", 0x013B: "artist", 0x8298: "copyright", 0xA430: "owner_name",
                0xA431: "body_serial_number", 0xA435: "lens_serial_number", 0xA420: "image_unique_id"}
_FORMATS = {JPEG: "JPEG", PNG: "PNG"}


class ImageRefused(ValueError):
    """The image cannot be made into a clean copy; the message is the reason shown to the resident."""


@dataclass(frozen=True, slots=True)
class CleanImage:
    data: bytes
    original_sha256: str
    original_size: int
    sha256: str
    width: int
    height: int
    removed: tuple[str, ...]  # what the original carried: gps, exif, xmp, … (for the record and the log)
    orientation_applied: int  # the EXIF orientation turned into pixels (1: none)


def found_metadata(image: Image.Image) -> tuple[tuple[str, ...], int]:
    """What identifying metadata the image carries, and its EXIF orientation."""
    exif = image.getexif()
    found = []
    if exif.get_ifd(_GPS_IFD):
        found.append("gps")
    merged = {**dict(exif), **exif.get_ifd(_EXIF_IFD)}
    found += sorted({name for tag, name in _IDENTIFYING.items() if merged.get(tag)})
    if len(exif):
        found.append("exif")
    info = image.info
    if info.get("xmp") or info.get("XML:com.adobe.xmp"):
        found.append("xmp")
    if any(key in info for key in ("photoshop", "iptc", "comment", "Comment", "Description", "Author")):
        found.append("text")
    return tuple(found), int(exif.get(_ORIENTATION, 1) or 1)


def clean_copy(data: bytes, media_type: str) -> CleanImage:
    """A copy of `data` (a JPEG or PNG) with the orientation applied and no metadata at all."""
    if media_type not in _FORMATS:
        raise ValueError(f"not an image type: {media_type}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[_FORMATS[media_type]]) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise ImageRefused(f"图片像素过大（超过 {MAX_PIXELS // 1_000_000} 百万像素），请用手机相机默认模式拍摄后重新上传")
                removed, orientation = found_metadata(image)
                image.load()
                upright = ImageOps.exif_transpose(image)
                icc = image.info.get("icc_profile")
                out = io.BytesIO()
                if media_type == JPEG:
                    upright.save(out, "JPEG", quality=JPEG_QUALITY, icc_profile=icc)
                else:
                    upright.save(out, "PNG", icc_profile=icc)
    except ImageRefused:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRefused("图片已损坏或格式不完整，无法打开，请重新拍摄或选择图片上传") from exc
    clean = out.getvalue()
    return CleanImage(data=clean, original_sha256=hashlib.sha256(data).hexdigest(), original_size=len(data),
                      sha256=hashlib.sha256(clean).hexdigest(), width=upright.width, height=upright.height,
                      removed=removed, orientation_applied=orientation)
