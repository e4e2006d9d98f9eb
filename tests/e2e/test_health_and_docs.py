"""Health, readiness, metrics, the OpenAPI document and the docs page over real HTTP."""

from __future__ import annotations

import json

import httpx
from openapi_spec_validator import validate


async def test_healthz(api: httpx.AsyncClient) -> None:
    response = await api.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_every_dependency(api: httpx.AsyncClient) -> None:
    response = await api.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok", "checks": {"mongodb": "ok", "redis": "ok", "s3": "ok"}}


async def test_metrics_count_requests_by_route_and_status(api: httpx.AsyncClient) -> None:
    await api.get("/healthz")
    await api.get("/no-such-page")
    text = (await api.get("/metrics")).text
    assert 'zsb_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert 'zsb_http_requests_total{method="GET",route="unmatched",status="404"}' in text
    assert 'zsb_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/healthz"}' in text


async def test_openapi_document_is_valid_and_lists_error_codes(api: httpx.AsyncClient) -> None:
    document = (await api.get("/openapi.json")).json()
    validate(document)
    assert document["openapi"] == "3.1.0"
    assert {"/healthz", "/readyz", "/metrics", "/_test/echo"} <= set(document["paths"])
    echo = document["paths"]["/_test/echo"]["post"]
    assert echo["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/EchoIn"}
    assert "VALIDATION_FAILED" in echo["responses"]["422"]["x-errcodes"]
    assert "BODY_TOO_LARGE" in echo["responses"]["413"]["x-errcodes"]
    assert "SERVICE_UNAVAILABLE" in document["paths"]["/readyz"]["get"]["responses"]["503"]["x-errcodes"]
    codes = {e["errcode"] for e in document["x-errcodes"]}
    assert {"INVALID_JSON", "NOT_FOUND", "METHOD_NOT_ALLOWED", "INTERNAL_ERROR"} <= codes


async def test_docs_page_is_served_from_local_assets(api: httpx.AsyncClient) -> None:
    page = await api.get("/docs")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "http://" not in page.text and "https://" not in page.text  # nothing from a CDN
    for asset in ("/docs/static/swagger-ui-bundle.js", "/docs/static/swagger-ui.css"):
        response = await api.get(asset)
        assert response.status_code == 200 and len(response.content) > 10_000
    assert (await api.get("/docs/static/../../etc/passwd")).status_code == 404


async def test_one_structured_log_line_per_request_with_masking(api: httpx.AsyncClient, log_path) -> None:
    await api.get("/healthz?phone=13812345678&id=110101199003077777", headers={"X-Request-ID": "log-check-0001"})
    lines = [json.loads(line) for line in log_path.read_text().splitlines()]
    mine = [line for line in lines if line.get("event") == "request" and line.get("request_id") == "log-check-0001"]
    assert len(mine) == 1
    line = mine[0]
    assert line["route"] == "/healthz" and line["status"] == 200 and line["duration_ms"] >= 0
    assert line["path"] == "/healthz?phone=138****5678&id=110101********7777"
    assert "13812345678" not in log_path.read_text()


async def test_simulators_index(simulators: str) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{simulators}/_sim/")
    assert response.status_code == 200 and response.json()["status"] == "ok"
