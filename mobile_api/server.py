"""Runs the API: start-up work, listening, and a graceful stop.

SIGTERM (or Ctrl-C) stops accepting connections, lets every in-flight request finish (bounded by
`ZSB_DRAIN_TIMEOUT_S`), closes idle keep-alive connections and the clients, then returns.
"""

from __future__ import annotations

import asyncio
import gc
import signal
import sys
from collections.abc import Callable

import structlog
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application

from affairs.demo_catalogue import seed_catalogue
from config.settings import Settings, check_production_safety
from config.wiring import Dependencies
from devstack.demo_school import seed_demo_school
from devstack.demo_seed import banner_lines as demo_banner_lines
from devstack.demo_seed import seed_demo_staff
from mobile_api.app import make_app

log = structlog.get_logger("mobile_api.server")

HARD_BODY_CAP = 64 * 1024 * 1024  # the connection-level ceiling; handlers enforce the real JSON limit


class ApiServer:
    def __init__(self, app: Application) -> None:
        self.app = app
        # X-Forwarded-For is only trusted behind our own proxy; otherwise a client could spoof its IP and
        # dodge per-IP limits.
        xheaders = app.settings["deps"].settings.trust_proxy_headers
        self.http = HTTPServer(app, xheaders=xheaders, max_body_size=HARD_BODY_CAP, idle_connection_timeout=60)

    def listen(self, port: int, host: str) -> int:
        """Bind (port 0 picks a free one) and return the port actually bound."""
        sockets = bind_sockets(port, host)
        self.http.add_sockets(sockets)
        return sockets[0].getsockname()[1]

    async def drain(self, within_s: float) -> bool:
        """Stop accepting, wait for in-flight requests, then close what is left. True if all finished."""
        self.http.stop()
        finished = await self.app.settings["in_flight"].wait_idle(within_s)
        await self.http.close_all_connections()
        return finished


async def serve(settings: Settings, *, on_ready: Callable[[int], None] | None = None) -> None:
    check_production_safety(settings)
    deps = Dependencies.from_settings(settings)
    try:
        await deps.wait_until_ready()
        await deps.prepare()
        if settings.env == "dev":  # demo catalogue and staff for `./dev run`, idempotent; never in test/production
            await seed_catalogue(deps)
            await seed_demo_staff(deps.staff_admin)
            await seed_demo_school(deps)  # after the staff: its finance account is one of them
        server = ApiServer(make_app(deps))
        # Everything allocated so far (modules, app, clients) lives as long as the process: keep it out of the
        # cyclic collector's scans, which otherwise grow with every imported library.
        gc.freeze()
        port = server.listen(settings.port, settings.host)
        log.info("api_listening", host=settings.host, port=port, env=settings.env)
        if on_ready:
            on_ready(port)

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        log.info("api_draining", in_flight=server.app.settings["in_flight"].count)
        finished = await server.drain(settings.drain_timeout_s)
        log.info("api_stopped", drained=finished)
    finally:
        await deps.close()


def print_banner(settings: Settings, port: int) -> None:
    """Human-readable pointers for `./dev run` (stderr, beside the JSON logs)."""
    base = f"http://{settings.host}:{port}"
    lines = [
        "",
        "掌上办 is up:",
        f"  API           {base}",
        f"  API docs      {base}/docs   (OpenAPI document: {base}/openapi.json)",
        f"  readiness     {base}/readyz",
        f"  simulators    {settings.sim_base_url}/_sim/",
        f"  MongoDB       {settings.mongodb_uri}",
        f"  Redis         {settings.redis_url}",
        f"  S3            {settings.s3_endpoint}  (keys in var/dev.env)",
        "",
        "Sign in as a demo person (prints an access token; the phone's WeChat login is simulated):",
        "  resident      .venv/bin/python -m devstack.demo_login wang-fang",
        "  parent        .venv/bin/python -m devstack.demo_login chen-zhiqiang",
        *demo_banner_lines(),
        "",
    ]
    sys.stderr.write("\n".join(lines) + "\n")
    sys.stderr.flush()
