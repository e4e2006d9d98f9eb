"""Verification of Alipay async notifies (trade_status_sync), pure: the posted form in, a typed Notice out, or
CallbackRejected saying why.

Alipay's rule: drop `sign` and `sign_type`, drop empty values, sort by name, join `k=v` with `&` (values as
posted, URL-decoded, not re-encoded), and check SHA256withRSA with the Alipay public key. Then the notify must
name our app_id and, when present, our seller_id. Whether the trade is ours and the amount right is the
caller's check. Answer the exact body `success` once handled (or already handled); anything else makes Alipay
send it again.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from urllib.parse import parse_qsl

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pydantic import ValidationError

from payments.alipay_types import Notice
from payments.errors import CallbackRejected

PROVIDER = "alipay"
SUCCESS_BODY = b"success"
FAILURE_BODY = b"fail"


def form_from_body(body: bytes, charset: str = "utf-8") -> dict[str, str]:
    """The posted form as one value per name; a name given twice is refused (which one was signed?)."""
    try:
        pairs = parse_qsl(body.decode(charset), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        raise CallbackRejected(PROVIDER, "malformed_body", "not an urlencoded form") from None
    form = dict(pairs)
    if len(form) != len(pairs):
        raise CallbackRejected(PROVIDER, "malformed_body", "a parameter appears twice")
    return form


def sign_content(form: Mapping[str, str]) -> str:
    return "&".join(f"{k}={v}" for k, v in sorted(form.items()) if k not in ("sign", "sign_type") and v != "")


class NotifyVerifier:
    def __init__(self, *, alipay_public_key: rsa.RSAPublicKey, app_id: str, seller_id: str) -> None:
        self._public_key = alipay_public_key
        self.app_id = app_id
        self.seller_id = seller_id

    def verify(self, form: Mapping[str, str]) -> Notice:
        signature = form.get("sign")
        if not signature:
            raise CallbackRejected(PROVIDER, "missing_signature")
        if form.get("sign_type", "RSA2") != "RSA2":
            raise CallbackRejected(PROVIDER, "unsupported_sign_type", str(form.get("sign_type"))[:16])
        try:
            raw = base64.b64decode(signature, validate=True)
            self._public_key.verify(raw, sign_content(form).encode(), padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            raise CallbackRejected(PROVIDER, "bad_signature", "RSA2 over the sorted parameters") from None
        if form.get("app_id") != self.app_id:
            raise CallbackRejected(PROVIDER, "wrong_app_id", str(form.get("app_id"))[:32])
        if form.get("seller_id") and form["seller_id"] != self.seller_id:
            raise CallbackRejected(PROVIDER, "wrong_seller_id", form["seller_id"][:32])
        if form.get("notify_type") != "trade_status_sync":
            raise CallbackRejected(PROVIDER, "unknown_notify_type", str(form.get("notify_type"))[:40])
        try:
            return Notice.model_validate(dict(form))
        except (ValidationError, ValueError) as exc:
            raise CallbackRejected(PROVIDER, "malformed_notify", type(exc).__name__) from None
