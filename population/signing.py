"""HMAC-SHA256 signing of the population-base contract (docs/population-base.md), both directions.

Requests are signed so the platform knows which client asks (and nobody can replay the question); responses
are signed so that we never accept a "match" that did not come from the platform. The strings to sign are
built here only, so the client cannot drift from the documented format.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass

VERIFY_PATH = "/v1/identity/verify"
MAX_CLOCK_SKEW_S = 300
NONCE_TTL_S = 600

HEADER_APP_ID = "X-Pop-App-Id"
HEADER_TIMESTAMP = "X-Pop-Timestamp"
HEADER_NONCE = "X-Pop-Nonce"
HEADER_SIGNATURE = "X-Pop-Signature"


class SignatureInvalid(ValueError):
    """A signed message failed a check; `reason` says which one (never contains the secret)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def body_sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def request_string_to_sign(method: str, path: str, timestamp: int | str, nonce: str, body: bytes) -> str:
    """`"POST\\n/v1/identity/verify\\n{timestamp}\\n{nonce}\\n{sha256 hex of body}\\n"`.

    `path` is the contract path, not the URL path: a gateway prefix in the base URL is not signed.
    """
    return f"{method.upper()}\n{path}\n{timestamp}\n{nonce}\n{body_sha256(body)}\n"


def response_string_to_sign(status: int, timestamp: int | str, nonce: str, body: bytes) -> str:
    """`"200\\n{timestamp}\\n{nonce}\\n{sha256 hex of body}\\n"`."""
    return f"{status}\n{timestamp}\n{nonce}\n{body_sha256(body)}\n"


def sign(secret: str, message: str) -> str:
    """base64(HMAC-SHA256(secret, message)), both UTF-8."""
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signature_matches(secret: str, message: str, signature: str) -> bool:
    """Constant-time comparison, so the answer time does not leak how much of a forged signature was right."""
    return hmac.compare_digest(sign(secret, message).encode(), signature.encode())


def new_nonce() -> str:
    return secrets.token_hex(16)


@dataclass(frozen=True, slots=True)
class Stamp:
    """Timestamp and nonce of one signed message; tests pass fixed ones to get reproducible signatures."""

    timestamp: int
    nonce: str

    @classmethod
    def now(cls) -> Stamp:
        return cls(int(time.time()), new_nonce())


def request_headers(app_id: str, secret: str, body: bytes, *, stamp: Stamp | None = None,
                    method: str = "POST", path: str = VERIFY_PATH) -> dict[str, str]:
    """The four `X-Pop-*` headers of a signed request."""
    stamp = stamp or Stamp.now()
    message = request_string_to_sign(method, path, stamp.timestamp, stamp.nonce, body)
    return {
        HEADER_APP_ID: app_id,
        HEADER_TIMESTAMP: str(stamp.timestamp),
        HEADER_NONCE: stamp.nonce,
        HEADER_SIGNATURE: sign(secret, message),
        "Content-Type": "application/json; charset=utf-8",
    }


def response_headers(secret: str, status: int, body: bytes, *, stamp: Stamp | None = None) -> dict[str, str]:
    """The three `X-Pop-*` headers the platform puts on a 200 answer."""
    stamp = stamp or Stamp.now()
    message = response_string_to_sign(status, stamp.timestamp, stamp.nonce, body)
    return {HEADER_TIMESTAMP: str(stamp.timestamp), HEADER_NONCE: stamp.nonce, HEADER_SIGNATURE: sign(secret, message)}


def check_timestamp(raw: str | None, *, now: float | None = None, max_skew_s: int = MAX_CLOCK_SKEW_S) -> int:
    """The timestamp as an int when it is within `max_skew_s` of our clock (either direction)."""
    try:
        timestamp = int(raw or "")
    except ValueError:
        raise SignatureInvalid("timestamp missing or not an integer") from None
    if abs((time.time() if now is None else now) - timestamp) > max_skew_s:
        raise SignatureInvalid("timestamp outside the allowed clock skew")
    return timestamp


def verify_response(secret: str, status: int, headers: Mapping[str, str], body: bytes, *,
                    now: float | None = None) -> None:
    """Raise SignatureInvalid unless the answer is signed with `secret`, fresh, and unaltered."""
    nonce, signature = headers.get(HEADER_NONCE), headers.get(HEADER_SIGNATURE)
    if not nonce or not signature:
        raise SignatureInvalid("response is not signed")
    raw_timestamp = headers.get(HEADER_TIMESTAMP) or ""
    check_timestamp(raw_timestamp, now=now)  # an old signed answer replayed later is refused too
    if not signature_matches(secret, response_string_to_sign(status, raw_timestamp, nonce, body), signature):
        raise SignatureInvalid("response signature does not match")
