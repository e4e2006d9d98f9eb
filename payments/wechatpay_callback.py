"""Verification of WeChat Pay callbacks (payment and refund notices), pure: headers + raw body in, a typed
Notice out, or CallbackRejected saying why.

Order of checks, cheapest first, nothing believed before the signature holds:
1. the four `Wechatpay-*` headers are there and the signature type is WECHATPAY2-SHA256-RSA2048;
2. `Wechatpay-Serial` is our WeChat Pay public key id (public-key mode: anything else, e.g. a platform
   certificate serial or a `WECHATPAY/SIGNTEST/` probe, is not ours to trust);
3. `Wechatpay-Timestamp` is within 5 minutes of our clock (the SDK does not check it; it bounds replays);
4. SHA256withRSA over `timestamp\\nnonce\\nbody\\n` with the RAW body bytes (never a re-serialised JSON);
5. the resource is AEAD_AES_256_GCM and decrypts with the APIv3 key, nonce and associated_data;
6. the plaintext matches the event type's shape and names our mchid (and one of our appids).
Checking the order itself (out_trade_no, amount, state) is the caller's job.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Collection, Mapping

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import ValidationError

from payments.errors import CallbackRejected
from payments.wechatpay_types import Notice, RefundNotice, Transaction

PROVIDER = "wechatpay"
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
MAX_SKEW_S = 300
TRANSACTION_EVENTS = frozenset({"TRANSACTION.SUCCESS"})
REFUND_EVENTS = frozenset({"REFUND.SUCCESS", "REFUND.ABNORMAL", "REFUND.CLOSED"})


def failure_body(message: str = "失败") -> bytes:
    """The body WeChat Pay expects with a 4xx/5xx answer to a callback it should send again."""
    return json.dumps({"code": "FAIL", "message": message}, ensure_ascii=False).encode()


def _header(headers: Mapping[str, str] | Callable[[str], str | None], name: str) -> str | None:
    if callable(headers):
        return headers(name)
    value = headers.get(name)
    if value is None:  # a plain dict from a framework that lower-cases names
        value = headers.get(name.lower())
    return value


class CallbackVerifier:
    """Holds the WeChat Pay public key, its id, the APIv3 key and our merchant identity."""

    def __init__(self, *, platform_public_key: rsa.RSAPublicKey, public_key_id: str, apiv3_key: bytes, mchid: str,
                 appids: Collection[str], max_skew_s: int = MAX_SKEW_S) -> None:
        if len(apiv3_key) != 32:
            raise ValueError("the APIv3 key must be 32 bytes")
        self._public_key = platform_public_key
        self.public_key_id = public_key_id
        self._aead = AESGCM(apiv3_key)
        self.mchid = mchid
        self.appids = frozenset(appids)
        self.max_skew_s = max_skew_s

    def verify(self, headers: Mapping[str, str] | Callable[[str], str | None], body: bytes, *,
               now: float | None = None) -> Notice:
        """The Notice of an authentic, fresh callback; CallbackRejected otherwise."""
        timestamp, nonce, signature, serial, kind = (
            _header(headers, name) for name in ("Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Signature",
                                                "Wechatpay-Serial", "Wechatpay-Signature-Type"))
        if not (timestamp and nonce and signature and serial):
            raise CallbackRejected(PROVIDER, "missing_headers", "Wechatpay-Timestamp/Nonce/Signature/Serial")
        if kind is not None and kind != SIGNATURE_TYPE:
            raise CallbackRejected(PROVIDER, "unsupported_signature_type", kind[:40])
        if serial != self.public_key_id:
            raise CallbackRejected(PROVIDER, "wrong_serial", serial[:64])
        try:
            skew = (time.time() if now is None else now) - int(timestamp)
        except ValueError:
            raise CallbackRejected(PROVIDER, "bad_timestamp", timestamp[:20]) from None
        if abs(skew) > self.max_skew_s:
            raise CallbackRejected(PROVIDER, "stale_timestamp", f"{int(skew)} s off our clock")
        self._check_signature(timestamp, nonce, body, signature)
        return self._open(body)

    def _check_signature(self, timestamp: str, nonce: str, body: bytes, signature: str) -> None:
        message = f"{timestamp}\n{nonce}\n".encode() + body + b"\n"
        try:
            raw = base64.b64decode(signature, validate=True)
            self._public_key.verify(raw, message, padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            raise CallbackRejected(PROVIDER, "bad_signature", "SHA256withRSA over timestamp, nonce and body") from None

    def _open(self, body: bytes) -> Notice:
        try:
            envelope = json.loads(body)
            resource = envelope["resource"]
            event_type = str(envelope["event_type"])
            if envelope.get("resource_type") != "encrypt-resource" or not isinstance(resource, dict):
                raise CallbackRejected(PROVIDER, "unsupported_resource", str(envelope.get("resource_type"))[:40])
            if resource.get("algorithm") != "AEAD_AES_256_GCM":
                raise CallbackRejected(PROVIDER, "unsupported_resource", str(resource.get("algorithm"))[:40])
            sealed = base64.b64decode(resource["ciphertext"], validate=True)
            nonce = str(resource["nonce"]).encode()
            associated = str(resource.get("associated_data") or "").encode()
        except CallbackRejected:
            raise
        except (ValueError, KeyError, TypeError) as exc:
            raise CallbackRejected(PROVIDER, "malformed_body", type(exc).__name__) from None
        try:
            plaintext = json.loads(self._aead.decrypt(nonce, sealed, associated))
        except InvalidTag:
            raise CallbackRejected(PROVIDER, "decrypt_failed", "AES-256-GCM tag mismatch (APIv3 key?)") from None
        except ValueError as exc:
            raise CallbackRejected(PROVIDER, "malformed_resource", type(exc).__name__) from None
        return self._notice(envelope, event_type, plaintext)

    def _notice(self, envelope: dict[str, object], event_type: str, plaintext: object) -> Notice:
        try:
            if event_type in TRANSACTION_EVENTS:
                transaction = Transaction.model_validate(plaintext)
                notice = Notice(id=str(envelope["id"]), create_time=envelope["create_time"],
                                event_type=event_type, summary=envelope.get("summary"), transaction=transaction)
            elif event_type in REFUND_EVENTS:
                refund = RefundNotice.model_validate(plaintext)
                notice = Notice(id=str(envelope["id"]), create_time=envelope["create_time"],
                                event_type=event_type, summary=envelope.get("summary"), refund=refund)
            else:
                raise CallbackRejected(PROVIDER, "unknown_event_type", event_type[:40])
        except (ValidationError, KeyError) as exc:
            raise CallbackRejected(PROVIDER, "malformed_resource", type(exc).__name__) from None
        mchid = notice.transaction.mchid if notice.transaction else notice.refund.mchid if notice.refund else ""
        if mchid != self.mchid:
            raise CallbackRejected(PROVIDER, "wrong_mchid", mchid[:32])
        if notice.transaction is not None and notice.transaction.appid not in self.appids:
            raise CallbackRejected(PROVIDER, "wrong_appid", notice.transaction.appid[:32])
        return notice
