"""Bad input over real HTTP: every failure is a JSON error with a stable errcode and a request id."""

from __future__ import annotations

import json

import httpx
import pytest


def assert_json_error(response: httpx.Response, status: int, errcode: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["errcode"] == errcode
    assert body["errmsg"] and body["request_id"]
    assert response.headers["X-Request-ID"] == body["request_id"]
    assert "Traceback" not in response.text and "<html" not in response.text.lower()
    return body


async def test_malformed_json_is_400(api: httpx.AsyncClient) -> None:
    response = await api.post("/_test/echo", content=b"{bad", headers={"Content-Type": "application/json"})
    body = assert_json_error(response, 400, "INVALID_JSON")
    assert "第 1 行" in body["errmsg"]


async def test_empty_and_non_utf8_bodies_are_400(api: httpx.AsyncClient) -> None:
    headers = {"Content-Type": "application/json"}
    assert_json_error(await api.post("/_test/echo", content=b"", headers=headers), 400, "INVALID_JSON")
    assert_json_error(await api.post("/_test/echo", content=b'{"name":"\xff"}', headers=headers), 400, "INVALID_JSON")


async def test_too_deep_json_is_400(api: httpx.AsyncClient) -> None:
    deep = b"[" * 5000 + b"]" * 5000
    response = await api.post("/_test/echo", content=deep, headers={"Content-Type": "application/json"})
    assert_json_error(response, 400, "JSON_TOO_DEEP")


async def test_body_over_limit_is_413_by_content_length(api: httpx.AsyncClient) -> None:
    big = b'{"name":"' + b"x" * (1_048_576 + 10) + b'"}'
    response = await api.post("/_test/echo", content=big, headers={"Content-Type": "application/json"})
    assert_json_error(response, 413, "BODY_TOO_LARGE")


async def test_chunked_body_over_limit_is_413(api: httpx.AsyncClient) -> None:
    async def chunks():
        for _ in range(20):
            yield b"x" * 65536 * 2

    response = await api.post("/_test/echo", content=chunks(), headers={"Content-Type": "application/json"})
    assert_json_error(response, 413, "BODY_TOO_LARGE")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
async def test_wrong_content_type_is_415(api: httpx.AsyncClient, content_type: str) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = await api.post("/_test/echo", content=b'{"name":"a","age":1}', headers=headers)
    assert_json_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")


async def test_validation_lists_every_bad_field(api: httpx.AsyncClient) -> None:
    response = await api.post("/_test/echo", json={"name": "", "age": 200, "extra": 1})
    body = assert_json_error(response, 422, "VALIDATION_FAILED")
    by_field = {e["field"]: e for e in body["errors"]}
    assert set(by_field) == {"name", "age"}
    assert by_field["name"]["errmsg"] == "长度不能少于 1 个字符"
    assert by_field["age"]["errmsg"] == "须不大于 150"


async def test_valid_body_round_trips(api: httpx.AsyncClient) -> None:
    response = await api.post("/_test/echo", json={"name": "张三", "age": 30})
    assert response.status_code == 200
    assert response.json() == {"name": "张三", "age": 30}


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "PATCH"])
async def test_unknown_route_is_json_404(api: httpx.AsyncClient, method: str) -> None:
    response = await api.request(method, "/anything", content=b"{bad")
    assert_json_error(response, 404, "NOT_FOUND")


async def test_wrong_method_is_405(api: httpx.AsyncClient) -> None:
    assert_json_error(await api.delete("/healthz"), 405, "METHOD_NOT_ALLOWED")
    assert_json_error(await api.get("/_test/echo"), 405, "METHOD_NOT_ALLOWED")


async def test_unexpected_exception_is_500_without_details(api: httpx.AsyncClient, log_path) -> None:
    response = await api.get("/_test/boom", headers={"X-Request-ID": "boom-request-0001"})
    body = assert_json_error(response, 500, "INTERNAL_ERROR")
    assert "secret detail" not in response.text
    assert body["request_id"] == "boom-request-0001"
    lines = [json.loads(line) for line in log_path.read_text().splitlines()]
    failure = next(
        line for line in lines
        if line.get("event") == "unhandled_exception" and line["request_id"] == "boom-request-0001"
    )
    assert "110101********7777" in failure["exception"] and "110101199003077777" not in failure["exception"]


async def test_request_id_is_echoed_or_generated(api: httpx.AsyncClient) -> None:
    echoed = await api.get("/healthz", headers={"X-Request-ID": "client-supplied-id-42"})
    assert echoed.headers["X-Request-ID"] == "client-supplied-id-42"
    generated = await api.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert generated.headers["X-Request-ID"] != "bad id with spaces"
    assert len(generated.headers["X-Request-ID"]) == 24
