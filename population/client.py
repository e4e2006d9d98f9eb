"""`PopulationClient`: asks the population base whether a name and ID number belong together.

One reused `httpx.AsyncClient`; every request signed (population.signing), every answer's signature checked
before it is believed. One retry on timeout, network error or 503, since verification is read-only and a
single blip should not send a resident away; nothing else is retried.
"""

from __future__ import annotations

import asyncio
import json
import time
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import httpx
import structlog

from core.ids import new_id
from core.masking import mask_id_number
from population import signing
from population.errors import PopulationRejected, PopulationUnavailable

if TYPE_CHECKING:
    from config.settings import Settings

log = structlog.get_logger(__name__)

ATTEMPTS = 2  # the first try and one retry


class VerifyResult(StrEnum):
    MATCH = "match"  # the number exists and the name is the one registered for it
    MISMATCH = "mismatch"  # the number exists under another name
    NOT_FOUND = "not_found"  # no such number in the population base


class PopulationClient:
    """Adapter for `POST {base_url}/v1/identity/verify` (docs/population-base.md)."""

    def __init__(self, base_url: str, app_id: str, secret: str, timeout: float, *,
                 retry_backoff_s: float = 0.2, client: httpx.AsyncClient | None = None) -> None:
        if not secret:
            raise ValueError("population secret must not be empty")
        self.app_id = app_id
        self._secret = secret
        self.retry_backoff_s = retry_backoff_s
        self._client = client or httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)),
            headers={"User-Agent": "zsb-population/1"},
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=10),
        )

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> PopulationClient:
        return cls(settings.population_base_url, settings.population_app_id,
                   settings.population_secret.get_secret_value(), settings.population_timeout_s, **kwargs)

    async def verify(self, name: str, id_number: str) -> VerifyResult:
        """MATCH / MISMATCH / NOT_FOUND, or PopulationUnavailable when no verified answer could be had.

        The caller validates the ID number first (accounts.citizen_id); here it is only trimmed and upper-cased.
        """
        name, id_number = name.strip(), id_number.strip().upper()
        if not name or not id_number:
            raise ValueError("name and id_number are required")
        request_id = new_id()  # fresh per call: the signed answer must echo it, so old answers cannot be replayed
        body = json.dumps({"name": name, "id_number": id_number, "request_id": request_id},
                          ensure_ascii=False, separators=(",", ":")).encode()
        masked = mask_id_number(id_number)
        started = time.monotonic()
        for attempt in range(1, ATTEMPTS + 1):
            try:
                result = await self._attempt(body, request_id)
            except PopulationUnavailable as exc:
                if exc.retryable and attempt < ATTEMPTS:
                    log.warning("population_retry", request_id=request_id, id_number=masked, attempt=attempt,
                                reason=exc.reason, status=exc.status)
                    await asyncio.sleep(self.retry_backoff_s * attempt)
                    continue
                log.warning("population_unavailable", request_id=request_id, id_number=masked, attempts=attempt,
                            reason=exc.reason, detail=str(exc), status=exc.status,
                            elapsed_ms=round((time.monotonic() - started) * 1000))
                raise
            log.info("population_verified", request_id=request_id, id_number=masked, result=result.value,
                     attempts=attempt, elapsed_ms=round((time.monotonic() - started) * 1000))
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(self, body: bytes, request_id: str) -> VerifyResult:
        """One signed request (fresh timestamp and nonce, so a retry is not refused as a replay)."""
        headers = signing.request_headers(self.app_id, self._secret, body)
        try:
            response = await self._client.post(signing.VERIFY_PATH.lstrip("/"), content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise PopulationUnavailable("timeout", type(exc).__name__, retryable=True) from exc
        except httpx.TransportError as exc:
            raise PopulationUnavailable("transport", type(exc).__name__, retryable=True) from exc
        status = response.status_code
        if status == 200:
            return self._read_answer(response, request_id)
        if 400 <= status < 500:
            raise PopulationRejected(_error_code(response), status=status)
        raise PopulationUnavailable(f"http_{status}", _error_code(response), status=status, retryable=status == 503)

    def _read_answer(self, response: httpx.Response, request_id: str) -> VerifyResult:
        """Believe nothing in the body before its signature and freshness are checked."""
        try:
            signing.verify_response(self._secret, 200, response.headers, response.content)
        except signing.SignatureInvalid as exc:
            raise PopulationUnavailable("bad_signature", exc.reason, status=200) from None
        try:
            data = json.loads(response.content)
            if not isinstance(data, dict):
                raise ValueError("not an object")
            if data.get("request_id") != request_id:
                raise ValueError("request_id does not echo ours")
            return VerifyResult(data.get("result"))
        except ValueError as exc:
            raise PopulationUnavailable("malformed", str(exc), status=200) from None

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> PopulationClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()


def _error_code(response: httpx.Response) -> str:
    """The platform's `code` from an error body, else a placeholder (a proxy may answer with HTML)."""
    try:
        data = json.loads(response.content)
    except ValueError:
        return "NO_CODE"
    code = data.get("code") if isinstance(data, dict) else None
    return str(code)[:64] if code else "NO_CODE"
