"""What every simulator's control API shares, written once: the `GET /_sim/<name>/stats` and
`POST /_sim/<name>/reset` endpoints (a state object only needs `stats() -> dict` and `reset()`), and
`ControlErrors`, how a control request's body is read and how a bad one is answered.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from tornado.web import RequestHandler


class ControlErrors:
    """Mixin for a simulator's control handlers (put it before the simulator's own handler base, which provides
    `send_json(body, status=)`): a malformed request — a ValueError, TypeError or KeyError while reading it — is
    the caller's 400 `{"code": "BAD_REQUEST", "message"}`, never a logged 500. A simulator whose own refusals
    have a body of their own lists their types in `refusals` and renders them in `refusal`."""

    refusals: tuple[type[Exception], ...] = ()
    BAD_REQUEST = (ValueError, TypeError, KeyError)

    def refusal(self, exc: Exception) -> tuple[int, dict[str, Any]]:
        raise NotImplementedError

    def json_body(self) -> dict[str, Any]:
        data = json.loads(self.request.body or b"{}")  # type: ignore[attr-defined]
        if not isinstance(data, dict):
            raise ValueError("body must be a JSON object")
        return data

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if self.refusals and isinstance(exc, self.refusals):
            status, body = self.refusal(exc)
            self.send_json(body, status=status)  # type: ignore[attr-defined]
        elif isinstance(exc, self.BAD_REQUEST):
            self.send_json({"code": "BAD_REQUEST", "message": str(exc)}, status=400)  # type: ignore[attr-defined]
        else:
            self.send_json({"code": "ERROR", "message": self._reason}, status=status_code)  # type: ignore[attr-defined]

    def log_exception(self, typ: Any, value: BaseException | None, tb: Any) -> None:
        if not isinstance(value, self.refusals + self.BAD_REQUEST):
            super().log_exception(typ, value, tb)  # type: ignore[misc]


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
