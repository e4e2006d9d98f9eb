"""Time limits with a frozen clock (no sleeping): a case submitted the day before National Day 2025 runs across
the holiday (Oct 1–8 off) and the make-up working day (Sat Oct 11), is warned at 80 % and goes overdue; the
supervision sweep flags each level once and alerts the holder and the region's supervisors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from config.wiring import Dependencies
from tests.support.cases import (
    ESTATE,
    act,
    bound_resident,
    department_staff,
    estate_form,
    estate_materials,
    open_task,
)
from tests.support.population import PopulationSim
from tests.support.sms import SmsSim
from tests.support.wechat import SimControl

SHANGHAI = timezone(timedelta(hours=8))


@pytest.fixture
def clock(deps: Dependencies) -> Iterator[list[datetime]]:
    """The cases' clock, frozen at whatever the test puts in `clock[0]`; real time again afterwards."""
    frozen = [datetime(2025, 9, 30, 10, 0, tzinfo=SHANGHAI).astimezone(UTC)]
    deps.cases.set_clock(lambda: frozen[0])
    yield frozen
    deps.cases.set_clock(lambda: datetime.now(UTC))


async def test_overdue_across_national_day(api: httpx.AsyncClient, wechat: SimControl, population: PopulationSim,
                                           sms: SmsSim, deps: Dependencies, demo_catalogue: object,
                                           clock: list[datetime]) -> None:
    me = await bound_resident(api, wechat, population)
    estate = await department_staff(deps, api, sms, "nx_estate")
    supervisor = await department_staff(deps, api, sms, "nx_ndrc", roles=("supervisor",))
    draft = (await api.post("/api/v1/cases", json={"matter_code": ESTATE}, headers=me.headers)).json()
    submitted = await api.post(f"/api/v1/cases/{draft['id']}/submit", headers=me.headers, json={
        "form": estate_form(me.id_number), "materials": await estate_materials(api, me, deps)})
    assert submitted.status_code == 200, submitted.text
    # 5 working days: Oct 9, 10, 11 (make-up Saturday), 13, 14 → due at 24:00 on Oct 14
    assert submitted.json()["clock"]["due_date"] == "2025-10-14"
    task = await open_task(api, estate, draft["id"], "prereview")
    await act(api, estate, f"/api/v1/staff/tasks/{task['id']}/claim")

    async def level() -> tuple[str, int]:
        shown = (await api.get(f"/api/v1/cases/{draft['id']}", headers=me.headers)).json()["clock"]
        held = (await api.get(f"/api/v1/staff/tasks/{task['id']}", headers=estate.headers)).json()
        assert (held["level"], held["remaining_working_days"]) == (shown["level"], shown["remaining_working_days"])
        first = (await api.get("/api/v1/staff/tasks", headers=estate.headers)).json()  # kept, and shown again
        assert [(t["level"], t["remaining_working_days"]) for t in first["items"] if t["id"] == task["id"]] == [
            (shown["level"], shown["remaining_working_days"])]  # … only while its numbers stand
        return shown["level"], shown["remaining_working_days"]

    clock[0] = datetime(2025, 10, 8, 23, 0, tzinfo=SHANGHAI).astimezone(UTC)  # still the holiday
    assert await level() == ("normal", 5)
    clock[0] = datetime(2025, 10, 11, 12, 0, tzinfo=SHANGHAI).astimezone(UTC)  # the make-up Saturday counts
    assert await level() == ("normal", 3)
    clock[0] = datetime(2025, 10, 12, 12, 0, tzinfo=SHANGHAI).astimezone(UTC)  # Sunday does not
    assert await level() == ("normal", 2)
    assert (await deps.cases.supervision.sweep(deps.cases.now())).as_dict() == {"warned": 0, "overdue": 0}

    clock[0] = datetime(2025, 10, 14, 1, 0, tzinfo=SHANGHAI).astimezone(UTC)  # 4 of 5 days used: 80 %
    assert await level() == ("warning", 1)
    soon = (await api.get("/api/v1/staff/tasks", params={"filter": "due_soon"}, headers=estate.headers)).json()
    assert [(t["id"], t["level"], t["remaining_working_days"]) for t in soon["items"]
            if t["case_id"] == draft["id"]] == [(task["id"], "warning", 1)]
    assert (await deps.cases.supervision.sweep(deps.cases.now())).as_dict() == {"warned": 1, "overdue": 0}
    assert (await deps.cases.supervision.sweep(deps.cases.now())).as_dict() == {"warned": 0, "overdue": 0}

    clock[0] = datetime(2025, 10, 15, 0, 0, tzinfo=SHANGHAI).astimezone(UTC)  # 24:00 on the 14th: overdue
    assert await level() == ("overdue", 0)
    late = (await api.get("/api/v1/staff/tasks", params={"filter": "overdue"}, headers=estate.headers)).json()
    assert [(t["level"], t["remaining_working_days"]) for t in late["items"]
            if t["case_id"] == draft["id"]] == [("overdue", 0)]
    assert (await deps.cases.supervision.sweep(deps.cases.now())).as_dict() == {"warned": 0, "overdue": 1}
    assert (await deps.cases.supervision.sweep(deps.cases.now())).as_dict() == {"warned": 0, "overdue": 0}

    events = await deps.cases.apply.history.outbox.for_subject("case", draft["id"])
    [alert] = [e for e in events if e["topic"] == "task.overdue"]
    assert alert["urgent"] is True
    assert {(r["kind"], r["id"]) for r in alert["recipients"]} == {("staff", estate.staff_id),
                                                                   ("region_supervisors", "430182")}
    assert [e["topic"] for e in events].count("task.warning") == 1
    timeline = (await api.get(f"/api/v1/cases/{draft['id']}/timeline", headers=me.headers)).json()["items"]
    assert [e["action"] for e in timeline][-2:] == ["supervision_warning", "supervision_overdue"]

    board = await api.get("/api/v1/supervision/board", headers=supervisor.headers)
    assert board.status_code == 200, board.text
    rows = [r for r in board.json()["rows"] if r["department_code"] == task["department_code"]]
    assert rows and rows[0]["overdue"] >= 1
    clock[0] = datetime(2025, 10, 15, 12, 0, tzinfo=SHANGHAI).astimezone(UTC)  # half a working day late
    assert await level() == ("overdue", -1)
