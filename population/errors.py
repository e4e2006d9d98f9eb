"""Why a verification could not be answered. Callers tell the resident "实名核验暂不可用，请稍后再试" for all of them;
the subclasses and `reason` are for operators."""

from __future__ import annotations


class PopulationUnavailable(Exception):
    """No trustworthy answer: platform down or slow, network failure, or an answer we could not verify.

    Never treat this as a match. `reason` is a short machine-readable word (`timeout`, `transport`, `http_503`,
    `bad_signature`, `malformed`, `rejected`); it never contains the name or ID number.
    """

    def __init__(self, reason: str, detail: str = "", *, status: int | None = None, retryable: bool = False) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.status = status
        self.retryable = retryable


class PopulationRejected(PopulationUnavailable):
    """The platform refused our request (401/4xx: wrong key, clock skew, malformed request). A configuration or
    code problem on our side, so it is not retried; `code` is the platform's error code, e.g. SIGNATURE_INVALID."""

    def __init__(self, code: str, *, status: int) -> None:
        super().__init__("rejected", code, status=status)
        self.code = code
