"""The one HTTP path to WeChat: a shared `httpx.AsyncClient`, errcode mapping and the bounded retry policy.

WeChat puts `secret`, `js_code`, `code` and `access_token` in query strings, and httpx logs every request URL at
INFO; `redact_query` + a filter on the `httpx` logger keep those values out of our logs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import structlog

from wechat.errors import Busy, TransportError, error_for

log = structlog.get_logger(__name__)
T = TypeVar("T")

SENSITIVE_PARAMS = ("secret", "js_code", "code", "access_token", "refresh_token")
_SENSITIVE_QUERY = re.compile(r"(?<=[?&])(" + "|".join(SENSITIVE_PARAMS) + r")=[^&\s\"'#]*")


def redact_query(text: str) -> str:
    """Replace the value of every credential-bearing query parameter with `***`."""
    return _SENSITIVE_QUERY.sub(r"\1=***", text)


class _RedactQueryFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_query(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def install_log_redaction() -> None:
    """Idempotent: make httpx's own request log line safe to keep."""
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactQueryFilter) for f in logger.filters):
        logger.addFilter(_RedactQueryFilter())


class WeChatHttp:
    """Speaks WeChat's JSON-over-HTTP convention: 200 with a JSON body, `errcode` != 0 means failure."""

    def __init__(self, base_url: str, *, timeout_s: float, client: httpx.AsyncClient | None = None) -> None:
        install_log_redaction()
        self.client = client or httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 2.0)),
            headers={"User-Agent": "zsb-wechat/1"},
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        )

    async def get_json(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        return await self.request("GET", path, params=params)

    async def request(
        self, method: str, path: str, *, params: dict[str, str] | None = None, body: Any = None
    ) -> dict[str, Any]:
        """One call, no retry. Returns the JSON object; raises the mapped WeChatError or TransportError."""
        content = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        headers = None if content is None else {"Content-Type": "application/json; charset=utf-8"}
        try:
            response = await self.client.request(method, path, params=params, content=content, headers=headers)
        except httpx.TimeoutException as exc:
            raise TransportError(f"timeout calling {path}: {type(exc).__name__}") from exc
        except httpx.HTTPError as exc:
            raise TransportError(f"cannot reach WeChat for {path}: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise TransportError(f"HTTP {response.status_code} from {path}", status=response.status_code)
        try:  # jscode2session answers `text/plain`: parse the bytes whatever the content type says
            data = json.loads(response.content)
        except ValueError as exc:
            raise TransportError(f"non-JSON answer from {path}", status=200) from exc
        if not isinstance(data, dict):
            raise TransportError(f"unexpected JSON from {path}", status=200)
        errcode = data.get("errcode") or 0
        if errcode != 0:
            raise error_for(int(errcode), str(data.get("errmsg", "")))
        return data

    async def aclose(self) -> None:
        await self.client.aclose()


async def retry_once_if_transient(
    call: Callable[[], Awaitable[T]], *, what: str, attempts: int = 2, backoff_s: float = 0.2
) -> T:
    """Run `call`; on Busy (-1) or a transport failure wait `backoff_s` and try again, `attempts` in all.

    Every other errcode is final: retrying an invalid, used or rate-limited code cannot succeed and a high-risk
    refusal must not be retried.
    """
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except (Busy, TransportError) as exc:
            if attempt >= attempts:
                raise
            log.warning("wechat_retry", call=what, attempt=attempt, errcode=exc.errcode, reason=exc.errmsg)
            await asyncio.sleep(backoff_s * attempt)
    raise AssertionError("unreachable")  # pragma: no cover
