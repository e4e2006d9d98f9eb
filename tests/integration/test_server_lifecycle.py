"""Graceful stop: in-flight requests finish, new connections are refused, the process exits on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time

import httpx
import pytest

from config.wiring import Dependencies
from devstack.servers import free_port, wait_for_port
from mobile_api.app import make_app
from mobile_api.server import ApiServer
from tests.support.routes import extra_routes


async def test_drain_lets_in_flight_requests_finish(deps: Dependencies) -> None:
    server = ApiServer(make_app(deps, extra_routes=extra_routes()))
    base = f"http://127.0.0.1:{server.listen(0, '127.0.0.1')}"
    async with httpx.AsyncClient(base_url=base, timeout=5) as client:
        slow = asyncio.create_task(client.get("/_test/slow", params={"s": "0.6"}))
        await asyncio.sleep(0.2)
        drained = asyncio.create_task(server.drain(within_s=5))
        await asyncio.sleep(0.1)
        with pytest.raises(httpx.ConnectError):
            async with httpx.AsyncClient(base_url=base, timeout=2) as fresh:
                await fresh.get("/healthz")
        response = await slow
        assert response.status_code == 200 and response.json() == {"slept": True}
        assert await drained is True


@pytest.mark.slow
def test_sigterm_stops_the_process_cleanly(subprocess_env: dict[str, str], tmp_path) -> None:
    port = free_port()
    env = {**subprocess_env, "ZSB_PORT": str(port)}
    log = (tmp_path / "api.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "mobile_api"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, 30, proc)
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        assert time.monotonic() - started < 10
    finally:
        if proc.poll() is None:
            proc.kill()
    text = (tmp_path / "api.log").read_text()
    assert '"event": "api_stopped"' in text and '"drained": true' in text
