"""One structured log line and two metrics per request, and the in-flight count used to drain on SIGTERM."""

from __future__ import annotations

import asyncio

from prometheus_client import Counter, Histogram
from tornado.web import RequestHandler

from config.logging import json_text, log_hot_path

REQUESTS = Counter("zsb_http_requests_total", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram(
    "zsb_http_request_duration_seconds", "Time to answer an HTTP request", ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Labelled children, looked up once per (method, route, status) instead of through `.labels()` each time.
_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


def _metrics_for(method: str, route: str, status: int) -> tuple[Counter, Histogram]:
    key = (method, route, status)
    children = _children.get(key)
    if children is None:
        children = _children[key] = (REQUESTS.labels(method, route, str(status)), LATENCY.labels(method, route))
    return children


def log_request(handler: RequestHandler) -> None:
    """Tornado's `log_function`: called once per finished request."""
    request = handler.request
    status = handler.get_status()
    route = getattr(handler, "route", "unmatched")
    elapsed = request.request_time()
    method = request.method if request.method in _KNOWN_METHODS else "OTHER"  # labels stay bounded
    count, latency = _metrics_for(method, route, status)
    count.inc()
    latency.observe(elapsed)
    log_hot_path(  # route and method are ours (templates, a fixed set); the rest comes from the client
        f'"event":"request","method":"{method}","path":{json_text(request.uri or "")},"route":"{route}",'
        f'"status":{status},"duration_ms":{round(elapsed * 1000, 2)},'
        f'"request_id":{json_text(getattr(handler, "request_id", ""))},"ip":{json_text(request.remote_ip or "")}'
    )


class InFlight:
    """Counts requests being handled, so shutdown can wait until the last one is answered."""

    def __init__(self) -> None:
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def enter(self) -> None:
        self.count += 1
        self._idle.clear()

    def leave(self) -> None:
        self.count -= 1
        if self.count <= 0:
            self.count = 0
            self._idle.set()

    async def wait_idle(self, within_s: float) -> bool:
        try:
            await asyncio.wait_for(self._idle.wait(), within_s)
            return True
        except TimeoutError:
            return False
