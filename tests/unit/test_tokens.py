"""Access tokens: issue/verify, and every way a forged, stale or misdirected token must be refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr

from accounts.errors import REFRESH_TOKEN_REUSED, SESSION_REVOKED, TOKEN_EXPIRED, TOKEN_INVALID
from accounts.jwt_keys import JwtKeyring, keyring_from_settings, new_key_entry, parse_signing_keys
from accounts.tokens import AccessTokenService
from config.settings import InsecureSettingsError, Settings
from core.errors import AppError

TTL, LEEWAY = timedelta(minutes=15), timedelta(seconds=30)


def service(keyring: JwtKeyring, *, issuer: str = "zsb", audience: str = "zsb-mobile") -> AccessTokenService:
    return AccessTokenService(keyring, issuer=issuer, audience=audience, ttl=TTL, leeway=LEEWAY)


@pytest.fixture(scope="module")
def key0() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def key1() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def tokens(key0: Ed25519PrivateKey) -> AccessTokenService:
    return service(JwtKeyring.from_private_keys({"k0": key0}, "k0"))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(obj: dict[str, Any]) -> str:
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


def good_claims(**changes: Any) -> dict[str, Any]:
    now = int(datetime.now(UTC).timestamp())
    claims = {
        "iss": "zsb",
        "aud": "zsb-mobile",
        "sub": "P1",
        "sid": "S1",
        "roles": ["citizen"],
        "iat": now,
        "nbf": now,
        "exp": now + 900,
        "jti": "J1",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def sign_eddsa(key: Ed25519PrivateKey, payload: dict[str, Any], **header: Any) -> str:
    return jwt.encode(payload, key, algorithm="EdDSA", headers={"kid": "k0", "typ": "at+jwt", **header})


def refused(tokens: AccessTokenService, token: str) -> str:
    with pytest.raises(AppError) as caught:
        tokens.verify_access_token(token)
    assert caught.value.status == 401
    return caught.value.error.code


def test_issue_and_verify_round_trip(tokens: AccessTokenService) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    token = tokens.issue_access_token("01PERSON", ["citizen", "staff"], "01SESSION", now=now)
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "EdDSA", "kid": "k0", "typ": "at+jwt"}
    claims = tokens.verify_access_token(token)
    assert (claims.subject, claims.roles, claims.session_id, claims.kid) == (
        "01PERSON",
        ("citizen", "staff"),
        "01SESSION",
        "k0",
    )
    assert claims.issued_at == now and claims.expires_at == now + TTL
    assert len(claims.token_id) == 26
    other = tokens.verify_access_token(tokens.issue_access_token("01PERSON", [], "01SESSION"))
    assert other.token_id != claims.token_id and other.roles == ()


def test_expired_beyond_leeway_is_refused(tokens: AccessTokenService) -> None:
    issued = datetime.now(UTC) - TTL - LEEWAY - timedelta(seconds=5)
    assert refused(tokens, tokens.issue_access_token("P1", [], "S1", now=issued)) == "TOKEN_EXPIRED"


def test_expired_within_leeway_is_accepted(tokens: AccessTokenService) -> None:
    issued = datetime.now(UTC) - TTL - timedelta(seconds=10)
    assert tokens.verify_access_token(tokens.issue_access_token("P1", [], "S1", now=issued)).subject == "P1"


def test_not_yet_valid_beyond_leeway_is_refused(tokens: AccessTokenService, key0: Ed25519PrivateKey) -> None:
    future = int(datetime.now(UTC).timestamp()) + 120
    assert refused(tokens, sign_eddsa(key0, good_claims(nbf=future))) == "TOKEN_INVALID"
    assert refused(tokens, sign_eddsa(key0, good_claims(iat=future))) == "TOKEN_INVALID"
    # a clock 10 s ahead of ours is within leeway
    slightly = datetime.now(UTC) + timedelta(seconds=10)
    assert tokens.verify_access_token(tokens.issue_access_token("P1", [], "S1", now=slightly)).subject == "P1"


def test_a_token_checked_before_still_expires(tokens: AccessTokenService, monkeypatch: pytest.MonkeyPatch) -> None:
    token = tokens.issue_access_token("P1", [], "S1")
    assert tokens.verify_access_token(token).subject == "P1"
    assert token in tokens._verified  # the next use skips the signature check...
    assert tokens.verify_access_token(token).subject == "P1"
    later = datetime.now(UTC) + TTL + LEEWAY + timedelta(seconds=5)
    monkeypatch.setattr("accounts.tokens.time.time", later.timestamp)
    assert refused(tokens, token) == "TOKEN_EXPIRED"  # ...not the time claims
    assert token not in tokens._verified


def test_a_tampered_copy_of_a_checked_token_is_refused(tokens: AccessTokenService) -> None:
    token = tokens.issue_access_token("P1", [], "S1")
    tokens.verify_access_token(token)
    head, payload, signature = token.split(".")
    forged = ".".join((head, payload, signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")))
    assert refused(tokens, forged) == "TOKEN_INVALID"


def test_wrong_audience_and_wrong_issuer_are_refused(key0: Ed25519PrivateKey) -> None:
    keyring = JwtKeyring.from_private_keys({"k0": key0}, "k0")
    token = service(keyring).issue_access_token("P1", [], "S1")
    assert refused(service(keyring, audience="zsb-staff-console"), token) == "TOKEN_INVALID"
    assert refused(service(keyring, issuer="someone-else"), token) == "TOKEN_INVALID"
    assert service(keyring).verify_access_token(token).subject == "P1"


def test_alg_none_token_is_refused(tokens: AccessTokenService) -> None:
    for alg in ("none", "None", "NONE"):
        forged = f"{segment({'alg': alg, 'kid': 'k0', 'typ': 'at+jwt'})}.{segment(good_claims())}."
        assert refused(tokens, forged) == "TOKEN_INVALID"


def test_hs256_signed_with_the_public_key_is_refused(
    tokens: AccessTokenService, key0: Ed25519PrivateKey
) -> None:
    public = key0.public_key()
    secrets_an_attacker_knows = [
        public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw),
        public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
    ]
    for secret in secrets_an_attacker_knows:
        signing_input = f"{segment({'alg': 'HS256', 'kid': 'k0', 'typ': 'at+jwt'})}.{segment(good_claims())}"
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        assert refused(tokens, f"{signing_input}.{b64url(mac)}") == "TOKEN_INVALID"


def test_unknown_or_missing_kid_is_refused(tokens: AccessTokenService, key0: Ed25519PrivateKey) -> None:
    assert refused(tokens, sign_eddsa(key0, good_claims(), kid="k9")) == "TOKEN_INVALID"
    headerless = jwt.encode(good_claims(), key0, algorithm="EdDSA", headers={"typ": "at+jwt"})
    assert refused(tokens, headerless) == "TOKEN_INVALID"


def test_right_kid_wrong_key_is_refused(tokens: AccessTokenService) -> None:
    assert refused(tokens, sign_eddsa(Ed25519PrivateKey.generate(), good_claims())) == "TOKEN_INVALID"


def test_tampered_payload_is_refused(tokens: AccessTokenService) -> None:
    header, _, signature = tokens.issue_access_token("P1", ["citizen"], "S1").split(".")
    for change in ({"roles": ["admin"]}, {"sub": "P2"}, {"exp": int(datetime.now(UTC).timestamp()) + 86400}):
        forged = f"{header}.{segment(good_claims(**change))}.{signature}"
        assert refused(tokens, forged) == "TOKEN_INVALID"
    assert refused(tokens, "not-a-jwt") == "TOKEN_INVALID"
    assert refused(tokens, "") == "TOKEN_INVALID"
    assert refused(tokens, "a" * 10_000) == "TOKEN_INVALID"


def test_required_claims_types_and_typ_are_enforced(
    tokens: AccessTokenService, key0: Ed25519PrivateKey
) -> None:
    for missing in ("sid", "sub", "roles", "exp", "iat", "nbf", "jti", "aud", "iss"):
        assert refused(tokens, sign_eddsa(key0, good_claims(**{missing: None}))) == "TOKEN_INVALID", missing
    assert refused(tokens, sign_eddsa(key0, good_claims(roles="admin"))) == "TOKEN_INVALID"
    assert refused(tokens, sign_eddsa(key0, good_claims(sid=42))) == "TOKEN_INVALID"
    assert refused(tokens, sign_eddsa(key0, good_claims(), typ="JWT")) == "TOKEN_INVALID"
    assert refused(tokens, sign_eddsa(key0, good_claims(), crit=["exp"])) == "TOKEN_INVALID"
    assert tokens.verify_access_token(sign_eddsa(key0, good_claims())).session_id == "S1"


def test_key_rotation(key0: Ed25519PrivateKey, key1: Ed25519PrivateKey) -> None:
    before = service(JwtKeyring.from_private_keys({"k0": key0}, "k0"))
    after = service(JwtKeyring.from_private_keys({"k1": key1, "k0": key0}, "k1"))
    old_token = before.issue_access_token("P1", [], "S1")
    assert after.verify_access_token(old_token).kid == "k0"
    new_token = after.issue_access_token("P1", [], "S1")
    assert jwt.get_unverified_header(new_token)["kid"] == "k1"
    assert after.verify_access_token(new_token).kid == "k1"
    assert refused(before, new_token) == "TOKEN_INVALID"  # a server not yet rotated does not know k1
    dropped = service(JwtKeyring.from_private_keys({"k1": key1}, "k1"))
    assert refused(dropped, old_token) == "TOKEN_INVALID"


def test_keyring_setting_formats() -> None:
    entry1, entry0 = new_key_entry("k1"), new_key_entry("k0")
    keyring = parse_signing_keys(f"{entry1},{entry0}")
    assert keyring.current_kid == "k1" and set(keyring.verification_keys) == {"k1", "k0"}
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    from_pem = parse_signing_keys("pem1:" + pem.replace("\n", "\\n"))
    assert from_pem.signing_key.private_bytes_raw() == key.private_bytes_raw()
    ec_der = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    bad = [
        "",
        "k1",
        "k1:",
        f"{entry1},",
        "bad kid:" + entry1.partition(":")[2],
        f"{entry1},{entry1}",
        "k1:bm90LWEta2V5",
        "k1:" + base64.b64encode(ec_der).decode(),
    ]
    for text in bad:
        with pytest.raises(ValueError) as caught:
            parse_signing_keys(text)
        assert entry1.partition(":")[2] not in str(caught.value)  # never echo key material


def test_settings_keyring_and_production_refuses_dev_key() -> None:
    dev = AccessTokenService.from_settings(Settings(_env_file=None))
    assert dev.keyring.current_kid == "dev1" and dev.ttl == timedelta(seconds=900)
    assert (dev.issuer, dev.audience, dev.leeway) == ("zsb", "zsb-mobile", timedelta(seconds=30))
    dev_entry = Settings.model_fields["jwt_signing_keys"].default.get_secret_value()
    mixed = Settings(
        _env_file=None, env="production", jwt_signing_keys=SecretStr(f"{new_key_entry('p1')},{dev_entry}")
    )
    with pytest.raises(InsecureSettingsError, match="dev1"):
        keyring_from_settings(mixed)
    clean = Settings(_env_file=None, env="production", jwt_signing_keys=SecretStr(new_key_entry("p1")))
    assert keyring_from_settings(clean).current_kid == "p1"


def test_error_codes_are_distinct_401s() -> None:
    errors = (TOKEN_INVALID, TOKEN_EXPIRED, REFRESH_TOKEN_REUSED, SESSION_REVOKED)
    assert len({e.code for e in errors}) == 4 and {e.status for e in errors} == {401}
    assert TOKEN_EXPIRED.message == "登录已过期，请重新登录"
