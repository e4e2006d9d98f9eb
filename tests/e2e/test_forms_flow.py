"""Blank forms (样表) of the catalogue: a department admin uploads one straight to S3 through a slot, confirms
it, names its key in a material of a guide, publishes; anyone reading the guide downloads it through a
60-second link. Only that department's admin may upload; a renamed executable is refused."""

from __future__ import annotations

from urllib.parse import unquote

import httpx
import pytest

from affairs.demo_kit import DEPT
from config.wiring import Dependencies
from tests.support.catalogue import Caller, new_matter, resident_caller, staff_caller
from tests.support.documents import EXE, PDF, upload

pytestmark = pytest.mark.usefixtures("demo_catalogue")
PDF_TYPE = "application/pdf"


async def form_slot(api: httpx.AsyncClient, who: Caller, data: bytes, content_type: str = PDF_TYPE,
                    **extra: str) -> httpx.Response:
    body = {"file_name": "高龄津贴申请表.pdf", "size": len(data), "content_type": content_type} | extra
    return await api.post("/api/v1/admin/forms/slots", json=body, headers=who.headers)


async def test_admin_uploads_a_form_and_residents_download_it(api: httpx.AsyncClient, deps: Dependencies) -> None:
    admin = await staff_caller(deps, DEPT["nx_civil"])
    created = await form_slot(api, admin, PDF)
    assert created.status_code == 201, created.text
    form = created.json()["form"]
    assert form["key"].startswith(f"forms/{DEPT['nx_civil']}/") and form["key"].endswith(".pdf")
    assert (await upload(created.json()["upload"], PDF, PDF_TYPE)).status_code == 200
    confirmed = await api.post(f"/api/v1/admin/forms/{form['id']}/confirm", headers=admin.headers)
    assert confirmed.status_code == 200, confirmed.text
    assert (confirmed.json()["state"], confirmed.json()["size"]) == ("ready", len(PDF))

    body = new_matter()
    body["materials"][0].update(form_file_key=form["key"], accepts=["photo", "pdf"])
    base = f"/api/v1/admin/matters/{body['code']}"
    assert (await api.post("/api/v1/admin/matters", json=body, headers=admin.headers)).status_code == 201
    assert (await api.post(f"{base}/submit", headers=admin.headers)).status_code == 200
    assert (await api.post(f"{base}/publish", headers=admin.headers)).status_code == 200
    guide = (await api.get(f"/api/v1/matters/{body['code']}")).json()
    assert guide["materials"][0]["accepts"] == ["photo", "pdf"]

    link = await api.get(f"/api/v1/matters/{body['code']}/materials/0/form")  # no login needed
    assert link.status_code == 200, link.text
    name = f"{body['materials'][0]['name']}.pdf"
    assert link.json()["file_name"] == name
    async with httpx.AsyncClient() as browser:
        fetched = await browser.get(link.json()["url"])
    assert (fetched.status_code, fetched.content) == (200, PDF)
    assert unquote(fetched.headers["content-disposition"]).endswith(name)
    for index in ("1", "99", "x"):  # a material without a form, past the end, not a number
        missing = await api.get(f"/api/v1/matters/{body['code']}/materials/{index}/form")
        assert (missing.status_code, missing.json()["errcode"]) == (404, "FORM_NOT_FOUND")


async def test_demo_guides_name_forms_nobody_uploaded(api: httpx.AsyncClient) -> None:
    """A key that no confirmed upload produced is never signed (a guide cannot point at other objects)."""
    materials = (await api.get("/api/v1/matters/430182-MZ-0002")).json()["materials"]
    index = next(i for i, m in enumerate(materials) if m["form_file_key"])
    missing = await api.get(f"/api/v1/matters/430182-MZ-0002/materials/{index}/form")
    assert (missing.status_code, missing.json()["errcode"]) == (404, "FORM_NOT_FOUND")


async def test_only_a_department_admin_uploads_and_only_real_forms(api: httpx.AsyncClient,
                                                                   deps: Dependencies) -> None:
    staff = await staff_caller(deps, DEPT["nx_civil"], roles=("staff",))
    resident = await resident_caller(deps)
    assert (await form_slot(api, staff, PDF)).json()["errcode"] == "FORBIDDEN"
    assert (await form_slot(api, resident, PDF)).json()["errcode"] == "STAFF_ONLY"
    admin, other_admin = await staff_caller(deps, DEPT["nx_civil"]), await staff_caller(deps, DEPT["nx_police"])
    refused = await form_slot(api, admin, EXE, "application/x-msdownload")
    assert (refused.status_code, refused.json()["errcode"]) == (422, "DOCUMENT_TYPE_NOT_ALLOWED")

    created = (await form_slot(api, admin, EXE, "application/vnd.openxmlformats-officedocument."
                                                 "wordprocessingml.document", file_name="表.docx")).json()
    assert (await upload(created["upload"], EXE, created["upload"]["headers"]["Content-Type"])).status_code == 200
    elsewhere = await api.post(f"/api/v1/admin/forms/{created['form']['id']}/confirm", headers=other_admin.headers)
    assert (elsewhere.status_code, elsewhere.json()["errcode"]) == (404, "FORM_NOT_FOUND")
    answer = await api.post(f"/api/v1/admin/forms/{created['form']['id']}/confirm", headers=admin.headers)
    assert (answer.status_code, answer.json()["errcode"]) == (422, "DOCUMENT_REJECTED")
    assert await deps.objects.stat(deps.settings.s3_bucket_documents, created["form"]["key"]) is None
