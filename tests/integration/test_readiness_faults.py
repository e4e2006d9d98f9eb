"""With Redis or S3 stopped, /readyz names the failing dependency within 2 s and the API keeps answering.

Runs on a stack of its own so stopping servers does not disturb other tests."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from config.wiring import Dependencies
from devstack.servers import LocalStack, s3_command, spawn, wait_for_port
from mobile_api.app import make_app
from mobile_api.server import ApiServer
from tests.conftest import settings_for


@pytest.fixture(scope="module")
def fault_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    local = LocalStack(tmp_path_factory.mktemp("fault-stack")).start()
    yield local
    local.stop()


@pytest.fixture(scope="module")
async def fault_api(fault_stack: LocalStack) -> AsyncIterator[httpx.AsyncClient]:
    deps = Dependencies.from_settings(settings_for(fault_stack))
    await deps.wait_until_ready(give_up_after_s=30)
    await deps.prepare()
    server = ApiServer(make_app(deps))
    port = server.listen(0, "127.0.0.1")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        yield client
    await server.drain(1)
    await deps.close()


async def timed_readyz(client: httpx.AsyncClient) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await client.get("/readyz")
    return response, time.monotonic() - started


async def test_redis_down_is_named_and_api_keeps_answering(fault_stack: LocalStack, fault_api: httpx.AsyncClient) -> None:
    assert (await fault_api.get("/readyz")).status_code == 200
    fault_stack.stop_one("redis")
    try:
        response, elapsed = await timed_readyz(fault_api)
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "unavailable"
        assert body["checks"]["redis"] != "ok"
        assert body["checks"]["mongodb"] == "ok" and body["checks"]["s3"] == "ok"
        assert elapsed < 2.0
        assert (await fault_api.get("/healthz")).status_code == 200
    finally:
        fault_stack.restart_redis()
    assert (await fault_api.get("/readyz")).json()["checks"]["redis"] == "ok"


async def test_s3_down_is_named_within_two_seconds(fault_stack: LocalStack, fault_api: httpx.AsyncClient) -> None:
    fault_stack.stop_one("s3")
    try:
        response, elapsed = await timed_readyz(fault_api)
        assert response.status_code == 503
        assert response.json()["checks"]["s3"] != "ok"
        assert response.json()["checks"]["redis"] == "ok"
        assert elapsed < 2.0
        assert (await fault_api.get("/healthz")).status_code == 200
    finally:
        workdir = fault_stack.workdir
        fault_stack.processes["s3"] = spawn(
            "s3", s3_command(fault_stack.s3_port, workdir / "s3", workdir / "s3.json"), workdir
        )
        wait_for_port(fault_stack.s3_port, 30, fault_stack.processes["s3"].popen)


async def test_mongodb_down_is_named(fault_stack: LocalStack, fault_api: httpx.AsyncClient) -> None:
    fault_stack.stop_one("mongodb")
    response, elapsed = await timed_readyz(fault_api)
    assert response.status_code == 503
    assert response.json()["checks"]["mongodb"] != "ok"
    assert elapsed < 2.0
