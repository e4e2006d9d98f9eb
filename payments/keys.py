"""RSA keys of the payment providers, read from settings in whatever shape the portals hand them out.

WeChat Pay gives PEM files (PKCS#8 private key, SubjectPublicKeyInfo public key); Alipay's key tool gives one
line of base64 (PKCS#1 for non-Java apps). Settings hold one line per value (`var/dev.env` has no multi-line
values), so both PEM (real newlines or `\\n` escapes) and bare base64 DER are accepted here, and each SDK gets
the exact shape it parses.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


class KeyFormatError(ValueError):
    """A configured key cannot be read; the message names the setting, never the key."""


def _pem_or_der(text: str, setting: str) -> tuple[bytes, bool]:
    """(bytes, is_pem) of a key given as PEM or as base64 DER."""
    if not text or not text.strip():
        raise KeyFormatError(f"{setting} is empty")
    text = text.strip().replace("\\n", "\n")
    if text.startswith("-----BEGIN"):
        return text.encode(), True
    try:
        return base64.b64decode("".join(text.split()), validate=True), False
    except binascii.Error:
        raise KeyFormatError(f"{setting} is neither PEM nor base64") from None


def load_private_key(text: str, *, setting: str = "private key") -> rsa.RSAPrivateKey:
    """A PKCS#8 or PKCS#1 RSA private key, PEM or base64 DER."""
    data, is_pem = _pem_or_der(text, setting)
    try:
        if is_pem:
            key = serialization.load_pem_private_key(data, password=None)
        else:
            key = serialization.load_der_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFormatError(f"{setting} is not a readable RSA private key ({type(exc).__name__})") from None
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 2048:
        raise KeyFormatError(f"{setting} must be an RSA key of at least 2048 bits")
    return key


def load_public_key(text: str, *, setting: str = "public key") -> rsa.RSAPublicKey:
    """A SubjectPublicKeyInfo (or PKCS#1) RSA public key, PEM or base64 DER."""
    data, is_pem = _pem_or_der(text, setting)
    try:
        if is_pem:
            key = serialization.load_pem_public_key(data)
        else:
            try:
                key = serialization.load_der_public_key(data)
            except ValueError:  # PKCS#1 RSAPublicKey, as some tools print it
                key = serialization.load_pem_public_key(_pem("RSA PUBLIC KEY", data))
    except (ValueError, TypeError) as exc:
        raise KeyFormatError(f"{setting} is not a readable RSA public key ({type(exc).__name__})") from None
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size < 2048:
        raise KeyFormatError(f"{setting} must be an RSA key of at least 2048 bits")
    return key


def _pem(label: str, der: bytes) -> bytes:
    body = base64.encodebytes(der).decode().replace("\n", "")
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return (f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n").encode()


def new_private_key() -> rsa.RSAPrivateKey:
    """A fresh RSA-2048 key (development and tests only: production keys come from the providers' portals)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_key_text(key: rsa.RSAPrivateKey) -> str:
    """One-line base64 of the PKCS#8 DER: the shape our settings store."""
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return base64.b64encode(der).decode()


def public_key_text(key: rsa.RSAPublicKey) -> str:
    """One-line base64 of the SubjectPublicKeyInfo DER (what both portals call "the public key")."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


def private_key_pkcs8_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def private_key_pkcs1_pem(key: rsa.RSAPrivateKey) -> str:
    """`-----BEGIN RSA PRIVATE KEY-----`: the only private-key shape the Alipay SDK (python-rsa) loads."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()


def public_key_pem(key: rsa.RSAPublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
