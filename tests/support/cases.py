"""Helpers for case tests: a resident with a bound ID number, staff of a department, documents uploaded the way
the phone does it, and the form of the demo 不动产转移登记 matter (two departments review in parallel)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import httpx
from PIL import Image

from affairs.demo_kit import DEPT
from config.wiring import Dependencies
from tests.support.identity import LoggedIn, miniprogram_login, new_registered_person
from tests.support.population import PopulationSim
from tests.support.sms import SmsSim
from tests.support.staff import StaffSession, make_staff, staff_login
from tests.support.wechat import SimControl

ESTATE = "430182-BDC-0001"  # nx_estate implements, nx_tax reviews in parallel; promised 5 working days


def _photo() -> bytes:
    """A real (decodable) JPEG: confirmation opens images to strip their metadata."""
    out = io.BytesIO()
    Image.effect_noise((64, 48), 40).convert("RGB").save(out, "JPEG", quality=80)
    return out.getvalue()


JPEG = _photo()


@dataclass
class Resident:
    login: LoggedIn
    id_number: str
    name: str

    @property
    def headers(self) -> dict[str, str]:
        return self.login.headers

    @property
    def person_id(self) -> str:
        return self.login.person_id


async def bound_resident(api: httpx.AsyncClient, wechat: SimControl, population: PopulationSim,
                         name: str = "王建华") -> Resident:
    number = await new_registered_person(population, name)
    me = await miniprogram_login(api, wechat)
    bound = await api.put("/api/v1/me/citizen-id", json={"name": name, "id_number": number}, headers=me.headers)
    assert bound.status_code == 200, bound.text
    return Resident(me, number, name)


async def department_staff(deps: Dependencies, api: httpx.AsyncClient, sms: SmsSim, dept_key: str, *,
                           roles: tuple[str, ...] = ("staff",), region_code: str = "430182") -> StaffSession:
    user = await make_staff(deps, roles=roles, department_id=DEPT[dept_key], department_name=dept_key,
                            region_code=region_code)
    return await staff_login(api, sms, user)


async def uploaded_document(api: httpx.AsyncClient, who: Resident | LoggedIn, name: str = "合同.jpg") -> str:
    """Slot → multipart POST to S3 with the policy (as wx.uploadFile does) → confirm; the document id."""
    slot = await api.post("/api/v1/documents/slots", headers=who.headers, json={
        "purpose": "photo", "file_name": name, "size": len(JPEG), "content_type": "image/jpeg"})
    assert slot.status_code == 201, slot.text
    form = slot.json()["upload"]
    async with httpx.AsyncClient(timeout=30) as s3:
        sent = await s3.post(form["url"], data=form["fields"] | {"Content-Type": "image/jpeg"},
                             files={"file": (name, JPEG, "image/jpeg")})
    assert sent.status_code in (200, 204), sent.text
    document_id = slot.json()["document"]["id"]
    confirmed = await api.post(f"/api/v1/documents/{document_id}/confirm", headers=who.headers)
    assert confirmed.status_code == 200, confirmed.text
    return document_id


def estate_form(seller_id: str, **changes: Any) -> dict[str, Any]:
    return {"registration_kind": "转移登记（买卖）", "property_location": "宁乡市玉潭街道一环路 8 号 3 栋 501",
            "area_m2": 96.5, "right_holders": [{"name": "王建华", "id_number": seller_id, "share": "1/1"}],
            "contact_phone": "13800001111", **changes}


async def estate_materials(api: httpx.AsyncClient, who: Resident, deps: Dependencies) -> list[dict[str, Any]]:
    """ID card and tax certificate reused as e-certificates the person holds (免提交); title deed and contract
    uploaded from the phone; the optional marriage certificate left out."""
    now = deps.cases.now()
    certs = {}
    for cert_type in ("resident_id_card", "tax_payment_certificate"):
        cert = await deps.cases.ecerts.issue(holder_person_id=who.person_id, type_=cert_type, issuer="测试发证机关",
                                             title=cert_type, now=now, source_case_id=None)
        certs[cert_type] = cert["_id"]
    return [
        {"index": 0, "ecert_id": certs["resident_id_card"]},
        {"index": 1, "document_ids": [await uploaded_document(api, who, "不动产权证书.jpg")]},
        {"index": 2, "document_ids": [await uploaded_document(api, who, "买卖合同.jpg")]},
        {"index": 4, "ecert_id": certs["tax_payment_certificate"]},
    ]


async def act(api: httpx.AsyncClient, staff: StaffSession, path: str, body: dict[str, Any] | None = None,
              status: int = 200) -> dict[str, Any]:
    response = await api.post(path, json=body or {}, headers=staff.headers)
    assert response.status_code == status, response.text
    return response.json()


async def open_task(api: httpx.AsyncClient, staff: StaffSession, case_id: str, stage: str) -> dict[str, Any]:
    """The staff member's open task of that stage for the case, from their inbox."""
    inbox = await api.get("/api/v1/staff/tasks", params={"filter": "new", "limit": 50}, headers=staff.headers)
    assert inbox.status_code == 200, inbox.text
    tasks = [t for t in inbox.json()["items"] if t["case_id"] == case_id and t["stage"] == stage]
    assert tasks, f"no open {stage} task for {case_id} in {inbox.json()}"
    return tasks[0]


def filled(schema: dict[str, Any], *, id_number: str = "430124199001011234") -> dict[str, Any]:
    """A valid answer to every field of a demo form schema (the demo forms use a small set of field shapes)."""
    def value(name: str, field: dict[str, Any]) -> Any:
        if "enum" in field:
            return field["enum"][0]
        kind = field.get("type")
        if kind == "integer":
            return max(int(field.get("minimum", 0)), 1)
        if kind == "number":
            return 10.5
        if kind == "boolean":
            return True
        if kind == "array":
            return [value(name, field["items"])] * max(int(field.get("minItems", 1)), 1)
        if kind == "object":
            return {k: value(k, f) for k, f in field.get("properties", {}).items()}
        if field.get("format") == "date":
            return "2024-03-01"
        pattern = str(field.get("pattern", ""))
        if "{17}" in pattern or name.endswith("id_number"):
            return id_number
        if pattern.startswith("^1[3-9]"):
            return "13800002222"
        return "测试内容"[: field.get("maxLength", 50)]
    return {name: value(name, field) for name, field in schema["properties"].items()}
