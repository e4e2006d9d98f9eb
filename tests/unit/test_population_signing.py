"""The population-base signing strings, pinned to vectors computed with openssl from docs/population-base.md,
and the adapter's signing checked against the simulator's independent implementation (both directions)."""

from __future__ import annotations

import time

import pytest

from population import signing
from population.signing import SignatureInvalid, Stamp
from simulators.population_state import PopulationSimState, Rejection

SECRET = "test-secret"
REQUEST_BODY = '{"name":"陈志强","id_number":"430124198607210358","request_id":"01JZ0000000000000000000000"}'.encode()
RESPONSE_BODY = b'{"result":"match","request_id":"01JZ0000000000000000000000"}'
STAMP = Stamp(1750000000, "0123456789abcdef0123456789abcdef")


def test_request_string_to_sign_is_the_documented_one() -> None:
    assert signing.request_string_to_sign("POST", "/v1/identity/verify", 1750000000, STAMP.nonce, REQUEST_BODY) == (
        "POST\n/v1/identity/verify\n1750000000\n0123456789abcdef0123456789abcdef\n"
        "f9b38e86f21401bdda4fe2193af87ca52a240115595d7247bb703c4963d9cb36\n"
    )


def test_request_signature_matches_the_openssl_vector() -> None:
    headers = signing.request_headers("zsb-dev", SECRET, REQUEST_BODY, stamp=STAMP)
    assert headers == {
        "X-Pop-App-Id": "zsb-dev",
        "X-Pop-Timestamp": "1750000000",
        "X-Pop-Nonce": STAMP.nonce,
        "X-Pop-Signature": "qhF7Hna5LQ1OQJrW6yMAcNew7GcU4q8cl+upRaaxx2E=",
        "Content-Type": "application/json; charset=utf-8",
    }


def test_response_signature_matches_the_openssl_vector() -> None:
    stamp = Stamp(1750000000, "fedcba9876543210fedcba9876543210")
    assert signing.response_string_to_sign(200, 1750000000, stamp.nonce, RESPONSE_BODY) == (
        "200\n1750000000\nfedcba9876543210fedcba9876543210\n"
        "ec9ade59ce41ddf78872ea4af6e5f47d2da56639381b0ef445d6fda43e1b968b\n"
    )
    headers = signing.response_headers(SECRET, 200, RESPONSE_BODY, stamp=stamp)
    assert headers["X-Pop-Signature"] == "f4EetWdv3wB0fW/6A0+2SmyVsYC6XINgS7Ak0zhYVbY="
    signing.verify_response(SECRET, 200, headers, RESPONSE_BODY, now=1750000100)


def test_response_round_trip_and_tampering() -> None:
    headers = signing.response_headers(SECRET, 200, RESPONSE_BODY)
    signing.verify_response(SECRET, 200, headers, RESPONSE_BODY)
    tampered = RESPONSE_BODY.replace(b"match", b"mismatch")
    cases = {
        "body": (SECRET, 200, headers, tampered),
        "secret": ("another-secret", 200, headers, RESPONSE_BODY),
        "status": (SECRET, 201, headers, RESPONSE_BODY),
        "nonce": (SECRET, 200, {**headers, "X-Pop-Nonce": "0" * 32}, RESPONSE_BODY),
        "timestamp": (SECRET, 200, {**headers, "X-Pop-Timestamp": str(int(headers["X-Pop-Timestamp"]) + 1)},
                      RESPONSE_BODY),
        "unsigned": (SECRET, 200, {}, RESPONSE_BODY),
    }
    for what, (secret, status, hdrs, body) in cases.items():
        with pytest.raises(SignatureInvalid):
            signing.verify_response(secret, status, hdrs, body)
            pytest.fail(f"tampered {what} was accepted")


def test_stale_response_is_refused_even_when_correctly_signed() -> None:
    old = Stamp(int(time.time()) - 301, signing.new_nonce())
    headers = signing.response_headers(SECRET, 200, RESPONSE_BODY, stamp=old)
    with pytest.raises(SignatureInvalid, match="clock skew"):
        signing.verify_response(SECRET, 200, headers, RESPONSE_BODY)


def _sim() -> PopulationSimState:
    return PopulationSimState({"zsb-dev": SECRET})


def test_simulator_accepts_what_the_adapter_signs() -> None:
    now = time.time()
    headers = signing.request_headers("zsb-dev", SECRET, REQUEST_BODY, stamp=Stamp(int(now), signing.new_nonce()))
    assert _sim().authenticate(headers, REQUEST_BODY, now) == SECRET


_TAMPERED = REQUEST_BODY.replace("陈志强".encode(), "李秀兰".encode())


@pytest.mark.parametrize(
    ("app_id", "secret", "skew_s", "nonce", "body", "code"),
    [
        ("zsb-dev", SECRET, 0, None, _TAMPERED, "SIGNATURE_INVALID"),
        ("zsb-dev", "wrong", 0, None, REQUEST_BODY, "SIGNATURE_INVALID"),
        ("somebody-else", SECRET, 0, None, REQUEST_BODY, "APP_UNKNOWN"),
        ("zsb-dev", SECRET, -301, None, REQUEST_BODY, "TIMESTAMP_EXPIRED"),
        ("zsb-dev", SECRET, 301, None, REQUEST_BODY, "TIMESTAMP_EXPIRED"),
        ("zsb-dev", SECRET, 0, "short", REQUEST_BODY, "SIGNATURE_INVALID"),
    ],
    ids=["body", "secret", "app_id", "stale", "future", "nonce_format"],
)
def test_simulator_rejects_tampered_requests(
    app_id: str, secret: str, skew_s: int, nonce: str | None, body: bytes, code: str
) -> None:
    now = time.time()
    stamp = Stamp(int(now) + skew_s, nonce or signing.new_nonce())
    headers = signing.request_headers(app_id, secret, REQUEST_BODY, stamp=stamp)
    with pytest.raises(Rejection) as caught:
        _sim().authenticate(headers, body, now)
    assert (caught.value.status, caught.value.code) == (401, code)


def test_simulator_refuses_a_replayed_nonce_and_the_retry_needs_a_fresh_one() -> None:
    sim, now = _sim(), time.time()
    headers = signing.request_headers("zsb-dev", SECRET, REQUEST_BODY, stamp=Stamp(int(now), signing.new_nonce()))
    sim.authenticate(headers, REQUEST_BODY, now)
    with pytest.raises(Rejection, match="nonce already used"):
        sim.authenticate(headers, REQUEST_BODY, now + 1)
    sim.authenticate(signing.request_headers("zsb-dev", SECRET, REQUEST_BODY), REQUEST_BODY, now + 1)


def test_adapter_verifies_what_the_simulator_signs() -> None:
    sim = _sim()
    signing.verify_response(SECRET, 200, sim.sign_response(SECRET, RESPONSE_BODY), RESPONSE_BODY)
    with pytest.raises(SignatureInvalid):
        signing.verify_response(SECRET, 200, sim.sign_response(SECRET, RESPONSE_BODY, corrupt=True), RESPONSE_BODY)
