"""State of the population-base simulator: the people it knows, the nonces it has seen, the injected fault and
its counters. Kept apart from the HTTP handlers (simulators/population.py) so each stays readable.

The signing checks are written here from docs/population-base.md on purpose, NOT imported from the adapter's
population.signing: two independent readings of the contract, so a misreading on one side fails the tests
instead of agreeing with itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

from core.masking import mask_id_number, mask_phone
from simulators.demo_people import DEMO_PEOPLE, DemoPerson

CONTRACT_PATH = "/v1/identity/verify"
MAX_SKEW_S = 300
NONCE_TTL_S = 600
_NONCE_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")
_DOTS = str.maketrans({c: "·" for c in "•・‧∙．.⋅"})

FaultMode = Literal["down", "slow", "bad_signature", "ok"]
FAULT_MODES: tuple[FaultMode, ...] = ("down", "slow", "bad_signature", "ok")
Result = Literal["match", "mismatch", "not_found"]


class Rejection(Exception):
    """A refused request: HTTP `status` with `{"code", "message"}`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


def hmac_b64(secret: str, message: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()).decode()


def same_name(a: str, b: str) -> bool:
    """Names as a registry compares them: width-insensitive, no spaces, any middle dot (买买提·艾力) the same."""
    def norm(name: str) -> str:
        return "".join(unicodedata.normalize("NFKC", name).split()).translate(_DOTS)
    return norm(a) == norm(b)


@dataclass
class Fault:
    mode: FaultMode
    remaining: int | None  # None: until changed or reset
    delay_ms: int


class PopulationSimState:
    def __init__(self, apps: dict[str, str]) -> None:
        self.apps = apps  # app id -> secret
        self.reset()

    def reset(self) -> None:
        self.people: dict[str, DemoPerson] = {p.id_number: p for p in DEMO_PEOPLE}
        self.nonces: dict[tuple[str, str], float] = {}
        self.fault: Fault | None = None
        self.requests = 0
        self.answered: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self.faults_served: Counter[str] = Counter()

    # -- faults -------------------------------------------------------------------------------------------
    def set_fault(self, mode: FaultMode, times: int | None, delay_ms: int) -> None:
        self.fault = None if mode == "ok" else Fault(mode, times, delay_ms)

    def take_fault(self) -> Fault | None:
        """The fault for this request, if any; counts down `times`."""
        fault = self.fault
        if fault is None:
            return None
        if fault.remaining is not None:
            fault.remaining -= 1
            if fault.remaining <= 0:
                self.fault = None
        self.faults_served[fault.mode] += 1
        return fault

    # -- the contract -------------------------------------------------------------------------------------
    def authenticate(self, headers: Any, body: bytes, now: float) -> str:
        """Check app id, clock, signature and nonce (in that order); returns the caller's secret."""
        app_id = headers.get("X-Pop-App-Id", "")
        secret = self.apps.get(app_id)
        if secret is None:
            raise Rejection(401, "APP_UNKNOWN", "unknown X-Pop-App-Id")
        raw_ts, nonce = headers.get("X-Pop-Timestamp", ""), headers.get("X-Pop-Nonce", "")
        signature = headers.get("X-Pop-Signature", "")
        if not raw_ts.isdigit() or not _NONCE_RE.fullmatch(nonce) or not signature:
            raise Rejection(401, "SIGNATURE_INVALID", "missing or malformed X-Pop-Timestamp/Nonce/Signature")
        if abs(now - int(raw_ts)) > MAX_SKEW_S:
            raise Rejection(401, "TIMESTAMP_EXPIRED", f"timestamp more than {MAX_SKEW_S} s from server time")
        message = f"POST\n{CONTRACT_PATH}\n{raw_ts}\n{nonce}\n{hashlib.sha256(body).hexdigest()}\n"
        if not hmac.compare_digest(hmac_b64(secret, message).encode(), signature.encode()):
            raise Rejection(401, "SIGNATURE_INVALID", "signature does not match")
        self._forget_old_nonces(now)
        if (app_id, nonce) in self.nonces:  # remembered only once the signature is good: no burning others' nonces
            raise Rejection(401, "NONCE_REUSED", f"nonce already used within {NONCE_TTL_S} s")
        self.nonces[(app_id, nonce)] = now
        return secret

    def _forget_old_nonces(self, now: float) -> None:
        for key in [k for k, seen in self.nonces.items() if now - seen > NONCE_TTL_S]:
            del self.nonces[key]

    def answer(self, name: str, id_number: str) -> Result:
        person = self.people.get(id_number.strip().upper())
        result: Result = "not_found" if person is None else "match" if same_name(person.name, name) else "mismatch"
        self.answered[result] += 1
        return result

    def sign_response(self, secret: str, body: bytes, *, corrupt: bool = False) -> dict[str, str]:
        timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
        signature = hmac_b64(secret, f"200\n{timestamp}\n{nonce}\n{hashlib.sha256(body).hexdigest()}\n")
        if corrupt:  # what a man in the middle or a misconfigured gateway would produce
            signature = hmac_b64(secret + "-not-the-platform", "forged")
        return {"X-Pop-Timestamp": timestamp, "X-Pop-Nonce": nonce, "X-Pop-Signature": signature}

    # -- control API --------------------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        fault = self.fault
        return {
            "requests": self.requests,
            "answered": dict(self.answered),
            "rejected": dict(self.rejected),
            "faults_served": dict(self.faults_served),
            "fault": None if fault is None else {"mode": fault.mode, "remaining": fault.remaining,
                                                 "delay_ms": fault.delay_ms},
            "nonces_remembered": len(self.nonces),
        }


def describe(person: DemoPerson) -> dict[str, Any]:
    """A person for the control API: masked values, plus the full ones under names no one mistakes for safe."""
    return {
        "key": person.key,
        "name": person.name,
        "role": person.role,
        "gender": person.gender,
        "birth_date": person.birth_date.isoformat(),
        "region_code": person.region_code,
        "guardians": list(person.guardians),
        "note": person.note,
        "id_number": mask_id_number(person.id_number),
        "phone": mask_phone(person.phone) if person.phone else None,
        "id_number_for_testing": person.id_number,
        "phone_for_testing": person.phone or None,
    }
