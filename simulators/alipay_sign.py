"""Alipay's RSA2 rules from the gateway's side, written from Alipay's documentation (not taken from the SDK):

- request: every parameter except `sign`, empty values left out, sorted by name, `k=v` joined with `&`, the
  UTF-8 bytes signed SHA256withRSA by the app's private key (so `sign_type` IS signed in a request);
- answer: `{"<method>_response":<object>,"sign":"…"}`, the signature over the object's exact text;
- async notify: like a request but without `sign` AND `sign_type`, signed by Alipay's private key.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def sign_content(params: Mapping[str, str], *, exclude: tuple[str, ...] = ("sign",)) -> str:
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in exclude and v not in ("", None))


def sign(key: rsa.RSAPrivateKey, text: str) -> str:
    return base64.b64encode(key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def verify(key: rsa.RSAPublicKey, text: str, signature: str) -> bool:
    try:
        key.verify(base64.b64decode(signature, validate=True), text.encode(), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def response_name(method: str | None) -> str:
    return f"{method.replace('.', '_')}_response" if method else "error_response"


def signed_answer(key: rsa.RSAPrivateKey, method: str | None, body: Mapping[str, Any]) -> bytes:
    """The gateway's JSON answer, with the signature over the response object's exact text."""
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    signature = sign(key, content)
    return f'{{"{response_name(method)}":{content},"sign":"{signature}"}}'.encode()
