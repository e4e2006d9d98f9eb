"""Population-base (人口库) simulator: the provider side of docs/population-base.md, answering from the demo
people (simulators/demo_people.py).

`POST /population/v1/identity/verify` checks app id, clock, signature and nonce exactly as the contract says
and signs its answer. The control API under `/_sim/population/` lists and adds people, injects faults
(down / slow / bad_signature) and reports counters. Documented with curl examples in docs/simulators.md.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

from tornado.web import RequestHandler

from accounts.citizen_id import CitizenIdInvalid, parse_citizen_id
from config.settings import Settings
from simulators.control import ResetHandler, StatsHandler
from simulators.demo_people import DemoPerson
from simulators.population_state import (
    CONTRACT_PATH,
    FAULT_MODES,
    PopulationSimState,
    Rejection,
    describe,
)

if TYPE_CHECKING:
    from simulators.app import Provider

PREFIX = "/population"
DEFAULT_SLOW_MS = 5000


class _Handler(RequestHandler):
    def initialize(self, sim: PopulationSimState) -> None:
        self.sim = sim

    def send_json(self, body: Any, *, status: int = 200, headers: dict[str, str] | None = None,
                  raw: bytes | None = None) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        for name, value in (headers or {}).items():
            self.set_header(name, value)
        self.finish(raw if raw is not None else json.dumps(body, ensure_ascii=False))

    def json_body(self) -> dict[str, Any]:
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise Rejection(400, "BAD_REQUEST", "body must be a JSON object")
        return data


class VerifyHandler(_Handler):
    """The contract endpoint. Faults apply before anything else, as a dead or slow platform would."""

    def initialize(self, sim: PopulationSimState) -> None:
        super().initialize(sim)
        self.closed = asyncio.Event()

    def on_connection_close(self) -> None:
        self.closed.set()

    async def post(self) -> None:
        self.sim.requests += 1
        fault = self.sim.take_fault()
        if fault is not None and fault.mode == "slow":
            try:  # stop as soon as the client gives up (its timeout), so nothing keeps sleeping
                await asyncio.wait_for(self.closed.wait(), (fault.delay_ms or DEFAULT_SLOW_MS) / 1000)
                return
            except TimeoutError:
                pass
        if fault is not None and fault.mode == "down":
            self.send_json({"code": "UNAVAILABLE", "message": "population base unavailable"}, status=503)
            return
        try:
            secret = self.sim.authenticate(self.request.headers, self.request.body, time.time())
            data = self.json_body()
            fields = [data.get(key) for key in ("name", "id_number", "request_id")]
            if not all(isinstance(value, str) and value for value in fields):
                raise Rejection(400, "BAD_REQUEST", "name, id_number and request_id are required strings")
        except Rejection as exc:
            self.sim.rejected[exc.code] += 1
            self.send_json(exc.body(), status=exc.status)
            return
        name, id_number, request_id = fields
        body = json.dumps({"result": self.sim.answer(name, id_number), "request_id": request_id},
                          ensure_ascii=False).encode()
        corrupt = fault is not None and fault.mode == "bad_signature"
        self.send_json(None, raw=body, headers=self.sim.sign_response(secret, body, corrupt=corrupt))


# -- control API -----------------------------------------------------------------------------------------------
class _ControlHandler(_Handler):
    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """A bad control request (Rejection, or ValueError from a malformed value) is the caller's 400."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, Rejection):
            self.send_json(exc.body(), status=exc.status)
        elif isinstance(exc, ValueError | TypeError):
            self.send_json({"code": "BAD_REQUEST", "message": str(exc)}, status=400)
        else:
            self.send_json({"code": "ERROR", "message": self._reason}, status=status_code)

    def log_exception(self, typ: Any, value: BaseException | None, tb: Any) -> None:
        if not isinstance(value, Rejection | ValueError | TypeError):
            super().log_exception(typ, value, tb)


class PeopleHandler(_ControlHandler):
    def get(self) -> None:
        self.send_json({"people": [describe(p) for p in self.sim.people.values()]})

    def post(self) -> None:
        """Add (or replace, same ID number) a person; the number must be a valid GB 11643 number."""
        body = self.json_body()
        name, raw_number = body.get("name"), body.get("id_number")
        if not isinstance(name, str) or not name.strip() or not isinstance(raw_number, str):
            raise Rejection(400, "BAD_REQUEST", "name and id_number are required strings")
        try:
            parsed = parse_citizen_id(raw_number)
        except CitizenIdInvalid as exc:
            raise Rejection(400, f"CITIZEN_ID_{exc.rule}", exc.message_zh) from None
        role = body.get("role", "resident")
        if role not in ("resident", "parent", "staff"):
            raise Rejection(400, "BAD_REQUEST", "role must be resident, parent or staff")
        person = DemoPerson(
            key=str(body.get("key") or f"added-{parsed.number[-6:]}"), name=name.strip(), id_number=parsed.number,
            phone=str(body.get("phone") or ""), birth_date=parsed.birth_date, gender=parsed.gender,
            region_code=parsed.region_code, role=role, guardians=tuple(body.get("guardians") or ()),
            note=str(body.get("note") or ""),
        )
        replaced = parsed.number in self.sim.people
        self.sim.people[parsed.number] = person
        self.send_json(describe(person), status=200 if replaced else 201)


class FaultsHandler(_ControlHandler):
    def post(self) -> None:
        body = self.json_body()
        mode = body.get("mode")
        if mode not in FAULT_MODES:
            raise Rejection(400, "BAD_REQUEST", f"mode must be one of {list(FAULT_MODES)}")
        times = None if body.get("times") is None else int(body["times"])
        if times is not None and times < 1:
            raise Rejection(400, "BAD_REQUEST", "times must be >= 1 (omit it for 'until changed')")
        delay_ms = int(body.get("delay_ms") or (DEFAULT_SLOW_MS if mode == "slow" else 0))
        self.sim.set_fault(mode, times, delay_ms)
        self.send_json(self.sim.stats()["fault"] or {"mode": "ok"})

    def get(self) -> None:
        self.send_json(self.sim.stats()["fault"] or {"mode": "ok"})



def population_provider(settings: Settings) -> Provider:
    from simulators.app import Provider

    sim = PopulationSimState({settings.population_app_id: settings.population_secret.get_secret_value()})
    kwargs = {"sim": sim}
    routes: list[Any] = [(PREFIX + CONTRACT_PATH, VerifyHandler, kwargs)]
    control = {"people": PeopleHandler, "faults": FaultsHandler, "stats": StatsHandler, "reset": ResetHandler}
    routes += [(f"/_sim/population/{name}", handler, kwargs) for name, handler in control.items()]
    return Provider(
        name="population",
        description="Population base (人口库) real-name verification, signed (under /population)",
        routes=routes,
    )
