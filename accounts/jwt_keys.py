"""The keyring that signs and verifies access tokens: Ed25519 keys named by key id (`kid`), rotatable.

Why EdDSA/Ed25519 rather than ES256: signatures are deterministic (ECDSA's per-signature nonce is a classic
source of private-key leaks), keys and signatures are small (32 / 64 bytes), the curve has no invalid-point or
malleability pitfalls, and signing and verifying are fast. Only our own servers verify these tokens, so the
wider client-library support of ES256 buys nothing. Asymmetric at all, rather than HS256: services that only
verify (a gateway, a later microservice) get the public key and cannot mint tokens.

Settings format (`ZSB_JWT_SIGNING_KEYS`): `kid:<key>,kid:<key>,…`; each key is base64 (standard or URL-safe)
of an Ed25519 private key in PKCS#8 DER, or that key's PEM with its newlines written as the two characters
`\\n`. The FIRST entry signs new tokens; the others only verify (their public halves), so rotation is: put a
new key first, keep the old one until the longest access token signed by it has expired (TTL + leeway), then
drop it. `python -m accounts.jwt_keys KID` prints a fresh entry.
"""

from __future__ import annotations

import base64
import binascii
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from config.settings import InsecureSettingsError, Settings

ALGORITHM = "EdDSA"  # the JOSE name of Ed25519 signatures (RFC 8037)
_KID_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")


@dataclass(frozen=True, slots=True)
class JwtKeyring:
    """The current signing key and every verification key, by kid (the current one included)."""

    current_kid: str
    signing_key: Ed25519PrivateKey
    verification_keys: Mapping[str, Ed25519PublicKey]

    def verification_key(self, kid: str) -> Ed25519PublicKey | None:
        return self.verification_keys.get(kid)

    @classmethod
    def from_private_keys(cls, keys: Mapping[str, Ed25519PrivateKey], current_kid: str) -> JwtKeyring:
        if current_kid not in keys:
            raise ValueError(f"current key id {current_kid!r} is not in the keyring")
        for kid in keys:
            if not _KID_RE.fullmatch(kid):
                raise ValueError(f"JWT key id {kid!r} must be 1-32 characters of A-Z a-z 0-9 _ -")
        public = {kid: key.public_key() for kid, key in keys.items()}
        return cls(current_kid, keys[current_kid], public)


def load_private_key(text: str, what: str = "JWT signing key") -> Ed25519PrivateKey:
    """One key of the setting: PEM (newlines as `\\n`) or base64 PKCS#8 DER. Errors never echo key material."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.replace("\\n", "\n").encode("ascii"), password=None)
        else:
            cleaned = text.replace("-", "+").replace("_", "/")
            der = base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
            key = serialization.load_der_private_key(der, password=None)
    except (ValueError, TypeError, binascii.Error, UnicodeEncodeError):
        raise ValueError(f"{what} is not a PKCS#8 private key (base64 DER or PEM)") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{what} must be an Ed25519 key, got {type(key).__name__}")
    return key


def parse_signing_keys(text: str) -> JwtKeyring:
    """`"kid1:KEY,kid0:KEY"` → keyring with `kid1` current. Raises ValueError on any malformed entry."""
    entries = [entry.strip() for entry in text.split(",")]
    if not text.strip() or any(not entry for entry in entries):
        raise ValueError("JWT signing keys must be a comma-separated list of kid:key entries")
    keys: dict[str, Ed25519PrivateKey] = {}
    for position, entry in enumerate(entries, start=1):
        kid, sep, encoded = (part.strip() for part in entry.partition(":"))
        if not sep or not encoded:
            raise ValueError(f"JWT signing keys entry {position} must look like kid:key")
        if not _KID_RE.fullmatch(kid):
            raise ValueError(
                f"JWT signing keys entry {position}: key id must be 1-32 characters of A-Z a-z 0-9 _ -"
            )
        if kid in keys:
            raise ValueError(f"JWT signing keys list key id {kid!r} twice")
        keys[kid] = load_private_key(encoded, f"JWT signing key {kid!r}")
    return JwtKeyring.from_private_keys(keys, entries[0].partition(":")[0].strip())


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


# The development key is committed to the repository: anything it signs is forgeable by anyone.
_DEV_PUBLIC_KEYS = frozenset(
    _raw_public(key)
    for key in parse_signing_keys(
        Settings.model_fields["jwt_signing_keys"].default.get_secret_value()
    ).verification_keys.values()
)


def keyring_from_settings(settings: Settings) -> JwtKeyring:
    """The keyring of this process; call at start-up so a malformed setting fails fast.

    In production a development key anywhere in the keyring is refused (the plain default is already refused
    by `check_production_safety`; this also catches `prod1:…,dev1:…`, which would keep dev tokens valid).
    """
    keyring = parse_signing_keys(settings.jwt_signing_keys.get_secret_value())
    if settings.env == "production":
        leaked = sorted(
            kid for kid, key in keyring.verification_keys.items() if _raw_public(key) in _DEV_PUBLIC_KEYS
        )
        if leaked:
            raise InsecureSettingsError(
                "production mode refuses development JWT keys in ZSB_JWT_SIGNING_KEYS: " + ", ".join(leaked)
            )
    return keyring


def new_key_entry(kid: str) -> str:
    """A fresh `kid:base64(PKCS#8 DER)` entry for the setting."""
    if not _KID_RE.fullmatch(kid):
        raise ValueError("key id must be 1-32 characters of A-Z a-z 0-9 _ -")
    der = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return f"{kid}:{base64.b64encode(der).decode('ascii')}"


if __name__ == "__main__":  # pragma: no cover - operator helper
    print(new_key_entry(sys.argv[1] if len(sys.argv) > 1 else "k1"))
