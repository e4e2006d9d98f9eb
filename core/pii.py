"""Personal data at rest: field encryption with rotatable keys, and blind indexes for equality lookup.

Citizen ID numbers and phone numbers are stored as `FieldCipher` tokens (AES-256-GCM) and found again through a
`BlindIndex` (keyed HMAC-SHA256 of the normalised value), so the database never holds them in clear and a
stolen dump without the keys reveals neither the values nor, for the index, a dictionary-attackable hash.
Pure code: keys come in as bytes (see `config.pii` for the wiring from settings).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import unicodedata
from collections.abc import Callable, Mapping

import phonenumbers
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # 96-bit random nonce, the size GCM is designed for
FORMAT_VERSION = "v1"
# Key ids and contexts are embedded in tokens / associated data: keep them short and unambiguous.
_KID_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")
_CONTEXT_RE = re.compile(r"[a-z0-9_]+(?:\.[a-z0-9_]+)*")


class PiiDecryptError(ValueError):
    """A token that cannot be decrypted: malformed, tampered, unknown key id, or written for another field."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    """Strict decoding: a non-canonical string (e.g. one flipped padding bit) is rejected, not silently fixed."""
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise PiiDecryptError("PII token is not valid base64url") from exc
    if _b64url(data) != text:
        raise PiiDecryptError("PII token is not canonical base64url")
    return data


def _check_context(context: str) -> bytes:
    if not _CONTEXT_RE.fullmatch(context):
        raise ValueError(f"context must look like 'person.id_number', got {context!r}")
    return context.encode("ascii")


class FieldCipher:
    """AES-256-GCM for short strings, self-describing tokens `v1.<kid>.<nonce>.<ciphertext+tag>`.

    The key id travels in the token so that after a rotation (a new current key, old keys kept in the keyring)
    every old token still decrypts. `context` names the field and is bound as associated data, so a token
    copied into another field or collection fails to decrypt instead of leaking there.
    """

    def __init__(self, keyring: Mapping[str, bytes], current_kid: str) -> None:
        if current_kid not in keyring:
            raise ValueError(f"current key id {current_kid!r} is not in the keyring")
        for kid, key in keyring.items():
            if not _KID_RE.fullmatch(kid):
                raise ValueError(f"key id {kid!r} must be 1-32 characters of A-Z a-z 0-9 _ -")
            if len(key) != KEY_BYTES:
                raise ValueError(f"key {kid!r} must be {KEY_BYTES} bytes, got {len(key)}")
        self._aead = {kid: AESGCM(bytes(key)) for kid, key in keyring.items()}
        self.current_kid = current_kid

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._aead)

    @staticmethod
    def _aad(kid: str, context: str) -> bytes:
        return (
            b"zsb-pii|"
            + FORMAT_VERSION.encode()
            + b"|"
            + kid.encode("ascii")
            + b"|"
            + _check_context(context)
        )

    def encrypt(self, plaintext: str, *, context: str) -> str:
        """Encrypt with the current key and a fresh random nonce (so equal values give different tokens)."""
        if not isinstance(plaintext, str):
            raise TypeError("FieldCipher encrypts str values only")
        kid = self.current_kid
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead[kid].encrypt(nonce, plaintext.encode("utf-8"), self._aad(kid, context))
        return ".".join((FORMAT_VERSION, kid, _b64url(nonce), _b64url(sealed)))

    def decrypt(self, token: str, *, context: str) -> str:
        """Decrypt a token made with any key of the keyring; raise `PiiDecryptError` on any mismatch."""
        parts = token.split(".") if isinstance(token, str) else []
        if len(parts) != 4:
            raise PiiDecryptError("PII token must have 4 dot-separated parts")
        version, kid, nonce_text, sealed_text = parts
        if version != FORMAT_VERSION:
            raise PiiDecryptError(f"unsupported PII token version {version!r}")
        aead = self._aead.get(kid)
        if aead is None:
            raise PiiDecryptError(f"PII token uses unknown key id {kid!r}")
        nonce, sealed = _unb64url(nonce_text), _unb64url(sealed_text)
        if len(nonce) != NONCE_BYTES or len(sealed) < 16:
            raise PiiDecryptError("PII token has a wrong nonce or ciphertext length")
        try:
            plain = aead.decrypt(nonce, sealed, self._aad(kid, context))
        except InvalidTag:
            raise PiiDecryptError(
                f"PII token failed authentication for context {context!r} (tampered, or another field's value)"
            ) from None
        return plain.decode("utf-8")

    def needs_reencryption(self, token: str) -> bool:
        """True for tokens written under an older key: a rotation job re-encrypts these with the current key."""
        parts = token.split(".")
        return len(parts) != 4 or parts[0] != FORMAT_VERSION or parts[1] != self.current_kid


# -- blind index -------------------------------------------------------------------------------------------
Normaliser = Callable[[str], str]


def normalise_text(value: str) -> str:
    """Generic: NFKC (full-width digits/letters from Chinese IMEs become ASCII) and surrounding space removed."""
    return unicodedata.normalize("NFKC", value).strip()


def normalise_id_number(value: str) -> str:
    """Citizen ID numbers: NFKC, every space removed, upper-case (a trailing `x` is the same number as `X`)."""
    return "".join(normalise_text(value).split()).upper()


def normalise_phone(value: str) -> str:
    """Phone numbers as E.164, mainland China assumed when no country code is given: `138 1234 5678` and
    `+8613812345678` index the same. Matches the `e164` that `accounts.phone` stores."""
    try:
        number = phonenumbers.parse(normalise_text(value), "CN")
    except phonenumbers.NumberParseException as exc:
        raise ValueError("not a phone number") from exc
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class BlindIndex:
    """Deterministic keyed digest for equality lookup (and unique indexes) without storing plaintext.

    HMAC-SHA256 with its own key (never an encryption key) over `domain` + the normalised value: the same
    phone number in `person.phone` and `staff.phone` gives unrelated digests, so indexes cannot be joined.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) < KEY_BYTES:
            raise ValueError(f"blind index key must be at least {KEY_BYTES} bytes, got {len(key)}")
        self._key = bytes(key)

    def compute(self, value: str, *, domain: str, normalise: Normaliser = normalise_text) -> str:
        """Hex digest of `normalise(value)` in `domain` (a dotted name such as "person.id_number")."""
        message = b"zsb-bidx|v1|" + _check_context(domain) + b"|" + normalise(value).encode("utf-8")
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def id_number(self, value: str, *, domain: str = "person.id_number") -> str:
        return self.compute(value, domain=domain, normalise=normalise_id_number)

    def phone(self, value: str, *, domain: str = "person.phone") -> str:
        return self.compute(value, domain=domain, normalise=normalise_phone)


# -- settings parsing --------------------------------------------------------------------------------------
def _decode_key(text: str, what: str) -> bytes:
    """Standard or URL-safe base64, padding optional. Messages never echo key material."""
    cleaned = text.strip().replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{what} is not valid base64") from None


def parse_keyring(text: str) -> tuple[str, dict[str, bytes]]:
    """`"kid1:BASE64KEY,kid0:BASE64KEY"` → `("kid1", {"kid1": …, "kid0": …})`; the FIRST entry is current.

    Rotation: put a new entry first and keep the old ones after it until every token is re-encrypted.
    """
    entries = [entry.strip() for entry in text.split(",")]
    if not text.strip() or any(not entry for entry in entries):
        raise ValueError("PII keyring must be a comma-separated list of kid:base64key entries")
    keyring: dict[str, bytes] = {}
    for position, entry in enumerate(entries, start=1):
        kid, sep, encoded = entry.partition(":")
        kid = kid.strip()
        if not sep or not encoded.strip():
            raise ValueError(f"PII keyring entry {position} must look like kid:base64key")
        if not _KID_RE.fullmatch(kid):
            raise ValueError(
                f"PII keyring entry {position}: key id must be 1-32 characters of A-Z a-z 0-9 _ -"
            )
        if kid in keyring:
            raise ValueError(f"PII keyring lists key id {kid!r} twice")
        key = _decode_key(encoded, f"PII key {kid!r}")
        if len(key) != KEY_BYTES:
            raise ValueError(f"PII key {kid!r} must decode to {KEY_BYTES} bytes, got {len(key)}")
        keyring[kid] = key
    return entries[0].partition(":")[0].strip(), keyring


def parse_index_key(text: str) -> bytes:
    """The blind-index key setting: base64 of at least 32 random bytes."""
    key = _decode_key(text, "PII index key")
    if len(key) < KEY_BYTES:
        raise ValueError(f"PII index key must decode to at least {KEY_BYTES} bytes, got {len(key)}")
    return key
