"""Control endpoints every simulator has (`GET /_sim/<name>/stats`, `POST /_sim/<name>/reset`), written once.

A simulator's state object only needs `stats() -> dict` and `reset()`.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from tornado.web import RequestHandler


class SimState(Protocol):
    def stats(self) -> dict[str, Any]: ...

    def reset(self) -> None: ...


class _StateHandler(RequestHandler):
    def initialize(self, sim: SimState) -> None:
        self.sim = sim

    def _send(self, body: dict[str, Any]) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(body, ensure_ascii=False))


class StatsHandler(_StateHandler):
    """Counters a test asserts on (calls per path, retries seen, faults served)."""

    def get(self) -> None:
        self._send(self.sim.stats())


class ResetHandler(_StateHandler):
    """Back to the initial state: a test starts from nothing."""

    def post(self) -> None:
        self.sim.reset()
        self._send({"status": "reset"})
