"""WeChat Pay API v3 signatures and resource encryption, from the provider's side.

Written from WeChat Pay's published rules, not imported from the SDK or from our adapter, so each side checks
the other's reading: the merchant signs `METHOD\\nURL\\ntimestamp\\nnonce\\nbody\\n` (URL = path and query as sent,
without our path prefix) with SHA256withRSA; WeChat Pay signs `timestamp\\nnonce\\nbody\\n` of every answer and
callback with the platform key; callback resources are AES-256-GCM with the APIv3 key, a 12-character nonce and
`associated_data`, base64 of ciphertext‖tag.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import string
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SCHEME = "WECHATPAY2-SHA256-RSA2048"
_PAIR = re.compile(r'\s*([a-z_]+)="([^"]*)"\s*')
_AUTH_FIELDS = frozenset({"mchid", "nonce_str", "signature", "timestamp", "serial_no"})
_NONCE_ALPHABET = string.ascii_uppercase + string.digits


def parse_authorization(value: str | None) -> dict[str, str] | None:
    """The five fields of `WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",…`, or None if malformed."""
    if not value or not value.startswith(SCHEME + " "):
        return None
    fields: dict[str, str] = {}
    for part in value[len(SCHEME) + 1:].split(","):
        match = _PAIR.fullmatch(part)
        if match is None or match[1] in fields:
            return None
        fields[match[1]] = match[2]
    return fields if set(fields) == _AUTH_FIELDS else None


def request_message(method: str, url: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    return f"{method}\n{url}\n{timestamp}\n{nonce}\n".encode() + body + b"\n"


def answer_message(timestamp: str, nonce: str, body: bytes) -> bytes:
    return f"{timestamp}\n{nonce}\n".encode() + body + b"\n"


def sign(key: rsa.RSAPrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def verify(key: rsa.RSAPublicKey, message: bytes, signature: str) -> bool:
    try:
        key.verify(base64.b64decode(signature, validate=True), message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def new_nonce(length: int = 32) -> str:
    return "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(length))


def signed_headers(key: rsa.RSAPrivateKey, key_id: str, body: bytes, timestamp: int) -> dict[str, str]:
    """The `Wechatpay-*` headers WeChat Pay puts on an answer or a callback."""
    nonce = new_nonce()
    return {
        "Wechatpay-Timestamp": str(timestamp),
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": sign(key, answer_message(str(timestamp), nonce, body)),
        "Wechatpay-Serial": key_id,
        "Wechatpay-Signature-Type": SCHEME,
    }


def encrypt_resource(apiv3_key: bytes, plaintext: dict[str, Any], *, original_type: str,
                     associated_data: str) -> dict[str, str]:
    """The callback `resource` object: AEAD_AES_256_GCM of the JSON with a fresh 12-character nonce."""
    nonce = new_nonce(12)
    data = json.dumps(plaintext, ensure_ascii=False, separators=(",", ":")).encode()
    sealed = AESGCM(apiv3_key).encrypt(nonce.encode(), data, associated_data.encode())
    return {"original_type": original_type, "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": base64.b64encode(sealed).decode(), "associated_data": associated_data, "nonce": nonce}
