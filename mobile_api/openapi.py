"""OpenAPI 3.1 document built from the pydantic models each handler method declares with `@operation`."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema
from tornado.routing import URLSpec

from core import errors as E
from core.errors import ErrorCode

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


class FieldErrorOut(BaseModel):
    field: str = Field(description="出错字段的路径，如 `applicant.phone`")
    errcode: str
    errmsg: str


class ErrorOut(BaseModel):
    """Every 4xx/5xx response has this shape."""

    errcode: str = Field(description="稳定的错误码，见 `x-errcodes`", examples=["VALIDATION_FAILED"])
    errmsg: str = Field(description="可直接展示给用户的中文说明", examples=["填写的信息有误，请检查后重新提交"])
    request_id: str = Field(description="请求编号，反馈问题时请提供")
    errors: list[FieldErrorOut] | None = Field(None, description="校验失败时列出每个有误的字段")


_BINARY = {"type": "string", "format": "binary"}
BODY_ERRORS = (E.INVALID_JSON, E.JSON_TOO_DEEP, E.BODY_TOO_LARGE, E.UNSUPPORTED_MEDIA_TYPE, E.VALIDATION_FAILED)
# Declared by the accounts package; looked up by code so the HTTP layer does not import domain packages here.
AUTH_ERROR_CODES = ("UNAUTHORIZED", "TOKEN_INVALID", "TOKEN_EXPIRED", "SESSION_REVOKED")


@dataclass(frozen=True)
class Operation:
    summary: str
    tags: tuple[str, ...] = ()
    request: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[ErrorCode, ...] = ()
    description: str = ""
    media_type: str = "application/json"
    auth: bool = False  # needs `Authorization: Bearer <access token>`
    raw_request: str | None = None  # media type of a binary request body (an upload) instead of `request`
    raw_response: str | None = None  # media type of a binary response (a download) instead of `response`
    query: tuple[tuple[str, str], ...] = ()  # optional query parameters: (name, description)
    headers: tuple[tuple[str, str], ...] = ()  # optional request headers: (name, description)


def operation(**spec: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare what a handler method accepts and returns; the document and the docs page are built from it."""
    spec["tags"] = tuple(spec.get("tags", ()))
    spec["errors"] = tuple(spec.get("errors", ()))
    spec["query"] = tuple(spec.get("query", ()))
    spec["headers"] = tuple(spec.get("headers", ()))
    op = Operation(**spec)

    def attach(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.__openapi__ = op  # type: ignore[attr-defined]
        return fn

    return attach


def build_openapi(rules: Iterable[URLSpec], *, title: str, version: str, server_url: str) -> dict[str, Any]:
    ops: list[tuple[str, str, Operation]] = []
    for rule in rules:
        template = rule.kwargs.get("route")
        if not template:
            continue
        for method in HTTP_METHODS:
            op = getattr(getattr(rule.target, method, None), "__openapi__", None)
            if op is not None:
                ops.append((template, method, op))

    models = {ErrorOut}
    for _, _, op in ops:
        models |= {m for m in (op.request, op.response) if m is not None}
    keyed = [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)]
    refs, defs = models_json_schema(keyed, ref_template="#/components/schemas/{model}")
    schemas = defs.get("$defs", {})

    def ref(model: type[BaseModel]) -> dict[str, Any]:
        return refs[(model, "validation")]

    paths: dict[str, dict[str, Any]] = {}
    for template, method, op in ops:
        paths.setdefault(template, {})[method] = _operation_object(template, method, op, ref)

    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version,
                 "description": "掌上办后端接口。所有错误响应均为 `ErrorOut`，错误码见 `x-errcodes`。"},
        "servers": [{"url": server_url}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                           "description": "登录接口返回的 access_token，15 分钟有效，过期后用 refresh_token 换新"}},
        },
        "x-errcodes": [
            {"errcode": e.code, "status": e.status, "errmsg": e.message}
            for e in sorted(E.REGISTRY.values(), key=lambda e: (e.status, e.code))
        ],
    }


def _operation_object(template: str, method: str, op: Operation, ref: Callable[..., Any]) -> dict[str, Any]:
    errors = list(op.errors) + (list(BODY_ERRORS) if op.request else []) + [E.INTERNAL_ERROR]
    if op.raw_request:
        errors += [E.BODY_TOO_LARGE, E.UNSUPPORTED_MEDIA_TYPE]
    if op.auth:
        errors += [E.REGISTRY[code] for code in AUTH_ERROR_CODES if code in E.REGISTRY]
    responses: dict[str, Any] = {
        str(op.status): {
            "description": "成功",
            **({"content": {op.media_type: {"schema": ref(op.response)}}} if op.response else {}),
            **({"content": {op.raw_response: {"schema": _BINARY}}} if op.raw_response else {}),
        }
    }
    for status in sorted({e.status for e in errors}):
        codes = sorted({e.code: e for e in errors if e.status == status}.values(), key=lambda e: e.code)
        responses[str(status)] = {
            "description": "；".join(f"`{e.code}` {e.message}" for e in codes),
            "content": {"application/json": {"schema": ref(ErrorOut)}},
            "x-errcodes": [e.code for e in codes],
        }
    obj: dict[str, Any] = {
        "operationId": f"{method}_{re.sub(r'[^a-z0-9]+', '_', template.lower()).strip('_')}",
        "summary": op.summary,
        "tags": list(op.tags),
        "responses": responses,
        "parameters": [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"\{([a-z_][a-z0-9_]*)\}", template)
        ] + [{"name": name, "in": "query", "required": False, "schema": {"type": "string"}, "description": text}
             for name, text in op.query
        ] + [{"name": name, "in": "header", "required": False, "schema": {"type": "string"}, "description": text}
             for name, text in op.headers
        ] + [{"name": "X-Request-ID", "in": "header", "required": False, "schema": {"type": "string"},
              "description": "可选：调用方自带的请求编号，原样回显"}],
    }
    if op.description:
        obj["description"] = op.description
    if op.auth:
        obj["security"] = [{"bearer": []}]
    if op.request:
        obj["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(op.request)}}}
    elif op.raw_request:
        obj["requestBody"] = {"required": True, "content": {op.raw_request: {"schema": _BINARY}}}
    return obj
