"""Helpers for school-fee tests, the parents' side over HTTP: a resident parent links a child by their verified
phone on the roster or by a school-issued link code (`verified_parent`, `link_child`, `issue_link_code`), and
`parent_with_unpaid_bill` runs the whole flow (tests/support/schools.py for the school's side) and returns what
payment tests start from: a parent linked to a child with one unpaid bill (ids and headers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from config.wiring import Dependencies
from tests.support.identity import LoggedIn, miniprogram_login
from tests.support.schools import (
    Officials,
    Pupil,
    School,
    enrolled,
    new_pupils,
    published_item,
    register_school,
)
from tests.support.sms import SmsSim, random_phone
from tests.support.wechat import SimControl


# -- parents ---------------------------------------------------------------------------------------------------
@dataclass
class Parent:
    login: LoggedIn
    phone_e164: str | None = None  # verified on their account

    @property
    def headers(self) -> dict[str, str]:
        return self.login.headers

    @property
    def person_id(self) -> str:
        return self.login.person_id


async def verified_parent(api: httpx.AsyncClient, wechat: SimControl, sms: SmsSim,
                          phone_e164: str | None = None) -> Parent:
    """A resident who logged in with WeChat and verified their phone by SMS code (`PUT /me/phone`)."""
    me = await miniprogram_login(api, wechat)
    phone = phone_e164 or random_phone()
    asked = await api.post("/api/v1/me/phone/code", json={"phone": phone}, headers=me.headers)
    assert asked.status_code == 202, asked.text
    code = (await sms.wait_for_message(phone))["params"]["code"]
    bound = await api.put("/api/v1/me/phone", json={"phone": phone, "code": code}, headers=me.headers)
    assert bound.status_code == 200, bound.text
    return Parent(me, phone)


async def resident_parent(api: httpx.AsyncClient, wechat: SimControl) -> Parent:
    """A resident with no verified phone (links by a school-issued code)."""
    return Parent(await miniprogram_login(api, wechat))


async def link_child(api: httpx.AsyncClient, parent: Parent, pupil: Pupil, *, code: str | None = None,
                     name: str | None = None, id_number: str | None = None) -> httpx.Response:
    body = {"name": name or pupil.name, "id_number": id_number or pupil.id_number}
    if code is not None:
        body["code"] = code
    return await api.post("/api/v1/me/children", json=body, headers=parent.headers)


async def issue_link_code(api: httpx.AsyncClient, school: School, student_id: str) -> str:
    response = await api.post(f"/api/v1/schools/{school.code}/students/{student_id}/link-codes",
                              headers=school.headers)
    assert response.status_code == 201, response.text
    return response.json()["code"]


async def child_bills(api: httpx.AsyncClient, parent: Parent, student_id: str) -> list[dict[str, Any]]:
    response = await api.get(f"/api/v1/me/children/{student_id}/bills", headers=parent.headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


# -- the flow payment tests start from -------------------------------------------------------------------------
@dataclass
class ParentWithUnpaidBill:
    """A parent linked (by their verified phone) to a child on a school's roster, the child with one unpaid
    bill of a published fee item."""

    school: School
    parent: Parent
    pupil: Pupil
    student_id: str
    fee_item: dict[str, Any]
    bill: dict[str, Any]  # as the parent sees it (GET /api/v1/me/bills/{id})
    classmates: list[Pupil] = field(default_factory=list)  # unlinked pupils of the same class, billed too

    @property
    def headers(self) -> dict[str, str]:
        return self.parent.headers

    @property
    def person_id(self) -> str:
        return self.parent.person_id

    @property
    def bill_id(self) -> str:
        return self.bill["id"]

    @property
    def amount_fen(self) -> int:
        return self.bill["amount_fen"]


async def parent_with_unpaid_bill(deps: Dependencies, api: httpx.AsyncClient, wechat: SimControl, sms: SmsSim, *,
                                  amount_fen: int = 12000, classmates: int = 1,
                                  officials: Officials | None = None) -> ParentWithUnpaidBill:
    """The whole school-fee flow over HTTP: register a school, import its roster, a fee item approved by both
    departments and published, bills made by the worker, a parent linked by their verified phone."""
    school = await register_school(deps, api, sms, officials)
    parent = await verified_parent(api, wechat, sms)
    pupils = new_pupils(1 + classmates, phones=[parent.phone_e164 or ""])
    roster = await enrolled(api, school, pupils)
    item = await published_item(api, school, amount_fen=amount_fen)
    assert item["bills"]["generated"] == len(pupils), item
    linked = await link_child(api, parent, pupils[0])
    assert linked.status_code == 201, linked.text
    student_id = roster[pupils[0].student_no]["id"]
    [bill] = [b for b in await child_bills(api, parent, student_id) if b["fee_item_id"] == item["id"]]
    assert bill["state"] == "unpaid" and bill["amount_fen"] == amount_fen, bill
    return ParentWithUnpaidBill(school, parent, pupils[0], student_id, item, bill, pupils[1:])
