"""Documents as the phone uses them: a slot from the API, a real multipart POST to SeaweedFS (as `wx.uploadFile`
sends it), confirmation, a presigned download. S3 enforces the policy; the API never sees the bytes."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import httpx

from config.settings import Settings
from config.wiring import Dependencies
from tests.support.identity import LoggedIn, miniprogram_login
from tests.support.wechat import SimControl

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + os.urandom(4000)
PDF = b"%PDF-1.7\n" + os.urandom(2000)
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + os.urandom(3000)


async def slot(api: httpx.AsyncClient, who: LoggedIn, **overrides: Any) -> dict[str, Any]:
    body = {"purpose": "photo", "file_name": "身份证正面.jpg", "size": len(JPEG), "content_type": "image/jpeg"}
    response = await api.post("/api/v1/documents/slots", json=body | overrides, headers=who.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def upload(created: dict[str, Any], data: bytes, content_type: str, name: str = "photo.jpg") -> httpx.Response:
    """What `wx.uploadFile({url, filePath, name: "file", formData})` sends: the policy fields, then the file. The
    form's Content-Type field is the one the policy constrains (and S3 stores); a client may try to change it."""
    form = created["upload"]
    assert form["method"] == "POST"
    fields = form["fields"] | {"Content-Type": content_type}
    async with httpx.AsyncClient(timeout=30) as s3:
        return await s3.post(form["url"], data=fields, files={"file": (name, data, content_type)})


async def test_slot_upload_confirm_download(api: httpx.AsyncClient, wechat: SimControl) -> None:
    me = await miniprogram_login(api, wechat)
    created = await slot(api, me)
    document_id = created["document"]["id"]
    assert created["document"]["state"] == "pending"
    assert created["upload"]["fields"]["key"] == f"uploads/{me.person_id}/{document_id}"

    not_yet = await api.post(f"/api/v1/documents/{document_id}/confirm", headers=me.headers)
    assert (not_yet.status_code, not_yet.json()["errcode"]) == (409, "DOCUMENT_NOT_UPLOADED")

    uploaded = await upload(created, JPEG, "image/jpeg")
    assert uploaded.status_code in (200, 204), uploaded.text

    confirmed = await api.post(f"/api/v1/documents/{document_id}/confirm", headers=me.headers)
    assert confirmed.status_code == 200, confirmed.text
    ready = confirmed.json()
    assert (ready["state"], ready["size"], ready["sha256"]) == ("ready", len(JPEG), hashlib.sha256(JPEG).hexdigest())
    again = await api.post(f"/api/v1/documents/{document_id}/confirm", headers=me.headers)
    assert again.json() == ready  # idempotent

    assert (await api.get(f"/api/v1/documents/{document_id}", headers=me.headers)).json() == ready
    link = await api.get(f"/api/v1/documents/{document_id}/download", headers=me.headers)
    assert link.status_code == 200, link.text
    async with httpx.AsyncClient() as browser:
        fetched = await browser.get(link.json()["url"])
        assert (fetched.status_code, fetched.content) == (200, JPEG)
        forged = await browser.get(link.json()["url"].replace("X-Amz-Signature=", "X-Amz-Signature=0"))
        assert forged.status_code == 403


async def test_s3_refuses_what_the_policy_does_not_allow(api: httpx.AsyncClient, wechat: SimControl) -> None:
    me = await miniprogram_login(api, wechat)
    too_big = await slot(api, me)
    over = await upload(too_big, b"\xff\xd8\xff" + bytes(10 * 1024 * 1024), "image/jpeg")  # limit + 3 bytes
    assert (over.status_code, "<Code>EntityTooLarge</Code>" in over.text) == (400, True), over.text
    other_type = await slot(api, me)
    wrong = await upload(other_type, PDF, "application/pdf")
    assert (wrong.status_code, "Policy Condition failed" in wrong.text) == (403, True), wrong.text
    for refused in (too_big, other_type):
        answer = await api.post(f"/api/v1/documents/{refused['document']['id']}/confirm", headers=me.headers)
        assert answer.json()["errcode"] == "DOCUMENT_NOT_UPLOADED"


async def test_exe_named_jpg_is_rejected_and_deleted(api: httpx.AsyncClient, wechat: SimControl, deps: Dependencies,
                                                     settings: Settings) -> None:
    me = await miniprogram_login(api, wechat)
    created = await slot(api, me, file_name="setup.jpg", size=len(EXE))
    assert (await upload(created, EXE, "image/jpeg", "setup.jpg")).status_code in (200, 204)
    document_id, key = created["document"]["id"], created["upload"]["fields"]["key"]
    for _ in range(2):  # the answer does not change on a second confirmation
        answer = await api.post(f"/api/v1/documents/{document_id}/confirm", headers=me.headers)
        assert (answer.status_code, answer.json()["errcode"]) == (422, "DOCUMENT_REJECTED")
        assert "不是JPG 图片" in answer.json()["errmsg"]
    assert await deps.objects.stat(settings.s3_bucket_documents, key) is None
    record = (await api.get(f"/api/v1/documents/{document_id}", headers=me.headers)).json()
    assert record["state"] == "rejected" and record["reject_reason"]
    link = await api.get(f"/api/v1/documents/{document_id}/download", headers=me.headers)
    assert link.json()["errcode"] == "DOCUMENT_NOT_READY"


async def test_slot_refuses_heic_wrong_types_and_oversize(api: httpx.AsyncClient, wechat: SimControl) -> None:
    me = await miniprogram_login(api, wechat)
    cases = [({"content_type": "image/heic"}, "DOCUMENT_TYPE_NOT_ALLOWED", "HEIC"),
             ({"content_type": "application/x-msdownload"}, "DOCUMENT_TYPE_NOT_ALLOWED", "JPG"),
             ({"size": 10 * 1024 * 1024 + 1}, "DOCUMENT_TOO_LARGE", "10 MB")]
    for change, errcode, said in cases:
        body = {"purpose": "photo", "file_name": "a.jpg", "size": 100, "content_type": "image/jpeg"} | change
        answer = await api.post("/api/v1/documents/slots", json=body, headers=me.headers)
        assert (answer.status_code, answer.json()["errcode"]) == (422, errcode)
        assert said in answer.json()["errmsg"]


async def test_someone_elses_document_is_not_found(api: httpx.AsyncClient, wechat: SimControl) -> None:
    owner, other = await miniprogram_login(api, wechat), await miniprogram_login(api, wechat)
    created = await slot(api, owner)
    assert (await upload(created, JPEG, "image/jpeg")).status_code in (200, 204)
    document_id = created["document"]["id"]
    for method, path in (("POST", "confirm"), ("GET", ""), ("GET", "download")):
        answer = await api.request(method, f"/api/v1/documents/{document_id}/{path}".rstrip("/"), headers=other.headers)
        assert (answer.status_code, answer.json()["errcode"]) == (404, "DOCUMENT_NOT_FOUND")
    record = await api.get(f"/api/v1/documents/{document_id}", headers=owner.headers)
    assert record.json()["state"] == "pending"  # the stranger's confirmation did nothing


async def test_bytes_never_pass_through_the_api(api: httpx.AsyncClient, wechat: SimControl, settings: Settings) -> None:
    me = await miniprogram_login(api, wechat)
    data = b"%PDF-1.4\n" + os.urandom(settings.max_json_body_bytes * 3)
    assert len(data) > 3 * settings.max_json_body_bytes
    refused = await api.post("/api/v1/documents/slots", content=data,
                             headers=me.headers | {"Content-Type": "application/pdf"})
    assert refused.status_code == 413  # the API itself would never take this file
    created = await slot(api, me, purpose="pdf", file_name="申请表.pdf", size=len(data), content_type="application/pdf")
    assert (await upload(created, data, "application/pdf", "申请表.pdf")).status_code in (200, 204)
    confirmed = await api.post(f"/api/v1/documents/{created['document']['id']}/confirm", headers=me.headers)
    assert confirmed.json()["sha256"] == hashlib.sha256(data).hexdigest()
