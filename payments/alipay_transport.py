"""The HTTP post under the official Alipay SDK, replaced by one that honours the gateway URL's port.

alipay-sdk-python (checked: 3.7.1411, the latest) opens `HTTPConnection(host, port=80)` (443 for https) whatever
the URL says, then appends the URL's int port to a str and raises TypeError; its non-200 branch concatenates
bytes to str and raises TypeError too (alipay/alipay-sdk-python-all#13 asked about that code in 2019). Against
`https://openapi.alipay.com/gateway.do` neither shows; against a gateway on another port (our simulator, a
sandbox proxy) the SDK cannot talk at all. Everything else stays the SDK's: request building, RSA2 signing,
answer parsing and answer signature verification. This module swaps only `do_post`, in the two namespaces the
SDK looks it up from, with the same signature and return value (the answer's bytes).
"""

from __future__ import annotations

import http.client
import importlib
from typing import Any
from urllib.parse import urlsplit

from alipay.aop.api.exception.Exception import RequestException, ResponseException
from alipay.aop.api.util import WebUtils


class GatewayTimeout(RequestException):
    """No answer within the SDK's timeout (connect or read)."""


class GatewayHttpError(ResponseException):
    """The gateway (or a proxy before it) answered with a status other than 200."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"invalid http status {status}: {detail}")
        self.status = status


def post(url: str, query_string: str | None = None, headers: dict[str, str] | None = None,
         params: dict[str, Any] | None = None, charset: str = "utf-8", timeout: float = 15) -> bytes:
    """POST `params` form-encoded to `url?query_string`; the answer's bytes, or the SDK's exception types."""
    parts = urlsplit(url)
    connection_type = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_type(parts.hostname or "", parts.port, timeout=timeout)
    target = (parts.path or "/") + (f"?{query_string}" if query_string else "")
    body = WebUtils.url_encode(params, charset) if params else None
    try:
        connection.request("POST", target, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
    except TimeoutError as exc:
        raise GatewayTimeout(f"gateway timeout: {exc}") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise RequestException(f"post failed: {type(exc).__name__}") from exc
    finally:
        connection.close()
    if response.status != 200:
        raise GatewayHttpError(response.status, data[:120].decode("utf-8", "replace"))
    return data


def install() -> None:
    """Idempotent: point the SDK at `post`."""
    WebUtils.do_post = post
    importlib.import_module("alipay.aop.api.DefaultAlipayClient").do_post = post
