"""Stable error codes and the one exception type that carries them to the HTTP layer.

Every errcode is declared once with `define()`; the registry feeds the OpenAPI document so clients can rely on
the list. Domain packages declare their own codes in their own `errors` module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class ErrorCode:
    code: str
    status: int
    message: str  # default Chinese-friendly wording shown to residents and staff


REGISTRY: dict[str, ErrorCode] = {}


def define(code: str, status: int, message: str) -> ErrorCode:
    existing = REGISTRY.get(code)
    if existing and (existing.status, existing.message) != (status, message):
        raise ValueError(f"errcode {code} defined twice with different meaning")
    REGISTRY[code] = error = ErrorCode(code, status, message)
    return error


@dataclass(slots=True)
class FieldError:
    field: str
    errcode: str
    errmsg: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "errcode": self.errcode, "errmsg": self.errmsg}


@dataclass
class AppError(Exception):
    """Raised anywhere below the HTTP layer; rendered as `{"errcode", "errmsg", "request_id"}`."""

    error: ErrorCode
    errmsg: str | None = None
    errors: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.error.code)

    @property
    def status(self) -> int:
        return self.error.status

    @property
    def message(self) -> str:
        return self.errmsg or self.error.message


# -- generic codes used by the HTTP layer -------------------------------------------------------------------
BAD_REQUEST = define("BAD_REQUEST", 400, "请求有误")
INVALID_JSON = define("INVALID_JSON", 400, "请求内容不是有效的 JSON")
JSON_TOO_DEEP = define("JSON_TOO_DEEP", 400, "请求内容嵌套层级过深")
UNAUTHORIZED = define("UNAUTHORIZED", 401, "请先登录")
FORBIDDEN = define("FORBIDDEN", 403, "没有权限执行此操作")
NOT_FOUND = define("NOT_FOUND", 404, "请求的接口不存在")
METHOD_NOT_ALLOWED = define("METHOD_NOT_ALLOWED", 405, "该接口不支持此请求方法")
CONFLICT = define("CONFLICT", 409, "数据已被他人修改，请刷新后重试")
IDEMPOTENCY_IN_PROGRESS = define("IDEMPOTENCY_IN_PROGRESS", 409, "相同的请求正在处理中，请稍后查看结果")
BODY_TOO_LARGE = define("BODY_TOO_LARGE", 413, "请求内容过大")
UNSUPPORTED_MEDIA_TYPE = define("UNSUPPORTED_MEDIA_TYPE", 415, "请求内容类型须为 application/json")
VALIDATION_FAILED = define("VALIDATION_FAILED", 422, "填写的信息有误，请检查后重新提交")
IDEMPOTENCY_KEY_REUSED = define("IDEMPOTENCY_KEY_REUSED", 422, "幂等键已用于另一内容不同的请求")
RATE_LIMITED = define("RATE_LIMITED", 429, "操作太频繁，请稍后再试")
INTERNAL_ERROR = define("INTERNAL_ERROR", 500, "服务器开小差了，请稍后再试")
SERVICE_UNAVAILABLE = define("SERVICE_UNAVAILABLE", 503, "服务暂时不可用，请稍后再试")

_BY_STATUS = {
    400: BAD_REQUEST, 401: UNAUTHORIZED, 403: FORBIDDEN, 404: NOT_FOUND, 405: METHOD_NOT_ALLOWED,
    409: CONFLICT, 413: BODY_TOO_LARGE, 415: UNSUPPORTED_MEDIA_TYPE, 422: VALIDATION_FAILED,
    429: RATE_LIMITED, 503: SERVICE_UNAVAILABLE,
}


def for_status(status: int) -> ErrorCode:
    """The generic code for an HTTP status raised by the framework rather than by our code."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return BAD_REQUEST if 400 <= status < 500 else INTERNAL_ERROR
