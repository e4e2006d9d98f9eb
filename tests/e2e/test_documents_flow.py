"""Documents as the phone uses them: a slot from the API, a real multipart POST to SeaweedFS (as `wx.uploadFile`
sends it), confirmation, a presigned download. S3 enforces the policy; the API never sees the bytes."""

from __future__ import annotations

import hashlib
import io
import os
from typing import Any
from urllib.parse import unquote

import httpx
from PIL import Image

from config.settings import Settings
from config.wiring import Dependencies
from tests.support.documents import EXE, PDF, exif_of, photo, upload
from tests.support.identity import LoggedIn, miniprogram_login
from tests.support.wechat import SimControl

JPEG = photo(orientation=6)  # taken with the phone turned: 64×32 pixels shown upright as 32×64


async def slot(api: httpx.AsyncClient, who: LoggedIn, **overrides: Any) -> dict[str, Any]:
    body = {"purpose": "photo", "file_name": "身份证正面.jpg", "size": len(JPEG), "content_type": "image/jpeg"}
    response = await api.post("/api/v1/documents/slots", json=body | overrides, headers=who.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def test_slot_upload_confirm_download(api: httpx.AsyncClient, wechat: SimControl) -> None:
    me = await miniprogram_login(api, wechat)
    created = await slot(api, me)
    document_id = created["document"]["id"]
    assert created["document"]["state"] == "pending"
    assert created["upload"]["fields"]["key"] == f"incoming/{me.person_id}/{document_id}"

    not_yet = await api.post(f"/api/v1/documents/{document_id}/confirm", headers=me.headers)
    assert (not_yet.status_code, not_yet.json()["errcode"]) == (409, "DOCUMENT_NOT_UPLOADED")

    uploaded = await upload(created["upload"], JPEG, "image/jpeg")
    assert uploaded.status_code in (200, 204), uploaded.text

    confirmed = await api.post(f"/api/v1/documents/{document_id}/confirm", headers=me.headers)
    assert confirmed.status_code == 200, confirmed.text
    ready = confirmed.json()
    assert (ready["state"], ready["size"], ready["sha256"]) == ("ready", len(JPEG), hashlib.sha256(JPEG).hexdigest())
    assert {"gps", "exif", "body_serial_number", "owner_name"} <= set(ready["metadata_removed"])
    again = await api.post(f"/api/v1/documents/{document_id}/confirm", headers=me.headers)
    assert again.json() == ready  # idempotent

    assert (await api.get(f"/api/v1/documents/{document_id}", headers=me.headers)).json() == ready
    link = await api.get(f"/api/v1/documents/{document_id}/download", headers=me.headers)
    assert link.status_code == 200, link.text
    async with httpx.AsyncClient() as browser:
        fetched = await browser.get(link.json()["url"])
        assert fetched.status_code == 200
        assert unquote(fetched.headers["content-disposition"]).endswith("身份证正面.jpg")
        base, gps, camera = exif_of(fetched.content)
        assert (base, gps, camera) == ({}, {}, {})  # no place, no device, no serial numbers
        assert Image.open(io.BytesIO(fetched.content)).size == (32, 64)  # the orientation was applied
        forged = await browser.get(link.json()["url"].replace("X-Amz-Signature=", "X-Amz-Signature=0"))
        assert forged.status_code == 403


async def test_s3_refuses_what_the_policy_does_not_allow(api: httpx.AsyncClient, wechat: SimControl) -> None:
    me = await miniprogram_login(api, wechat)
    declared = await slot(api, me, size=4000)
    over = await upload(declared["upload"], b"\xff\xd8\xff" + bytes(4000), "image/jpeg")  # declared + 3 bytes
    assert (over.status_code, "<Code>EntityTooLarge</Code>" in over.text) == (400, True), over.text
    other_type = await slot(api, me)
    wrong = await upload(other_type["upload"], PDF, "application/pdf")
    assert (wrong.status_code, "Policy Condition failed" in wrong.text) == (403, True), wrong.text
    elsewhere = await slot(api, me)
    moved = await upload(elsewhere["upload"], JPEG, "image/jpeg", key=f"documents/{me.person_id}/planted")
    assert moved.status_code == 403, moved.text  # the policy fixes the key: nobody writes outside incoming/
    forged_policy = await slot(api, me)
    fields = forged_policy["upload"]["fields"]
    tampered = await upload(forged_policy["upload"], JPEG, "image/jpeg", **{
        next(k for k in fields if k.lower() == "x-amz-signature"): "0" * 64})
    assert tampered.status_code == 403, tampered.text
    for refused in (declared, other_type, elsewhere, forged_policy):
        answer = await api.post(f"/api/v1/documents/{refused['document']['id']}/confirm", headers=me.headers)
        assert answer.json()["errcode"] == "DOCUMENT_NOT_UPLOADED"


async def test_exe_named_jpg_is_rejected_and_deleted(api: httpx.AsyncClient, wechat: SimControl, deps: Dependencies,
                                                     settings: Settings) -> None:
    me = await miniprogram_login(api, wechat)
    created = await slot(api, me, file_name="setup.jpg", size=len(EXE))
    assert (await upload(created["upload"], EXE, "image/jpeg", "setup.jpg")).status_code in (200, 204)
    document_id = created["document"]["id"]
    for _ in range(2):  # the answer does not change on a second confirmation
        answer = await api.post(f"/api/v1/documents/{document_id}/confirm", headers=me.headers)
        assert (answer.status_code, answer.json()["errcode"]) == (422, "DOCUMENT_REJECTED")
        assert "不是JPG 图片" in answer.json()["errmsg"]
    bucket = settings.s3_bucket_documents
    for key in (f"incoming/{me.person_id}/{document_id}", f"documents/{me.person_id}/{document_id}"):
        assert await deps.objects.stat(bucket, key) is None
    record = (await api.get(f"/api/v1/documents/{document_id}", headers=me.headers)).json()
    assert record["state"] == "rejected" and record["reject_reason"]
    link = await api.get(f"/api/v1/documents/{document_id}/download", headers=me.headers)
    assert link.json()["errcode"] == "DOCUMENT_NOT_READY"


async def test_a_broken_image_and_an_oversize_put_are_rejected(api: httpx.AsyncClient, wechat: SimControl) -> None:
    me = await miniprogram_login(api, wechat)
    broken = JPEG[:200]  # the right magic bytes, not a picture
    created = await slot(api, me, size=len(broken), via="put")
    assert (await upload(created["upload"], broken, "image/jpeg")).status_code == 200
    answer = await api.post(f"/api/v1/documents/{created['document']['id']}/confirm", headers=me.headers)
    assert (answer.json()["errcode"], "无法打开" in answer.json()["errmsg"]) == ("DOCUMENT_REJECTED", True)
    small = await slot(api, me, size=100, via="put")  # a PUT signs no size: confirmation checks it
    assert (await upload(small["upload"], JPEG, "image/jpeg")).status_code == 200
    answer = await api.post(f"/api/v1/documents/{small['document']['id']}/confirm", headers=me.headers)
    assert (answer.json()["errcode"], "声明的大小" in answer.json()["errmsg"]) == ("DOCUMENT_REJECTED", True)


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
    assert (await upload(created["upload"], JPEG, "image/jpeg")).status_code in (200, 204)
    document_id = created["document"]["id"]
    for method, path in (("POST", "confirm"), ("GET", ""), ("GET", "download"), ("DELETE", "")):
        answer = await api.request(method, f"/api/v1/documents/{document_id}/{path}".rstrip("/"), headers=other.headers)
        assert (answer.status_code, answer.json()["errcode"]) == (404, "DOCUMENT_NOT_FOUND")
    record = await api.get(f"/api/v1/documents/{document_id}", headers=owner.headers)
    assert record.json()["state"] == "pending"  # the stranger's confirmation did nothing


async def test_owner_deletes_an_unused_document_but_not_an_attached_one(
        api: httpx.AsyncClient, wechat: SimControl, deps: Dependencies, settings: Settings) -> None:
    me = await miniprogram_login(api, wechat)
    ids = []
    for _ in range(2):
        created = await slot(api, me)
        assert (await upload(created["upload"], JPEG, "image/jpeg")).status_code in (200, 204)
        ids.append(created["document"]["id"])
        assert (await api.post(f"/api/v1/documents/{ids[-1]}/confirm", headers=me.headers)).status_code == 200
    unused, attached = ids
    await deps.documents.attach(me.person_id, [attached], "case-e2e-1", "M1")
    refused = await api.delete(f"/api/v1/documents/{attached}", headers=me.headers)
    assert (refused.status_code, refused.json()["errcode"]) == (409, "DOCUMENT_ATTACHED")
    assert (await api.delete(f"/api/v1/documents/{unused}", headers=me.headers)).status_code == 204
    assert (await api.get(f"/api/v1/documents/{unused}", headers=me.headers)).status_code == 404
    assert await deps.objects.stat(settings.s3_bucket_documents, f"documents/{me.person_id}/{unused}") is None
    assert (await api.delete(f"/api/v1/documents/{unused}", headers=me.headers)).status_code == 404
    shown = (await api.get(f"/api/v1/documents/{attached}", headers=me.headers)).json()
    assert (shown["case_id"], shown["material_code"]) == ("case-e2e-1", "M1")


async def test_bytes_never_pass_through_the_api(api: httpx.AsyncClient, wechat: SimControl, settings: Settings) -> None:
    me = await miniprogram_login(api, wechat)
    data = b"%PDF-1.4\n" + os.urandom(settings.max_json_body_bytes * 3)
    assert len(data) > 3 * settings.max_json_body_bytes
    refused = await api.post("/api/v1/documents/slots", content=data,
                             headers=me.headers | {"Content-Type": "application/pdf"})
    assert refused.status_code == 413  # the API itself would never take this file
    created = await slot(api, me, purpose="pdf", file_name="申请表.pdf", size=len(data), content_type="application/pdf")
    assert (await upload(created["upload"], data, "application/pdf", "申请表.pdf")).status_code in (200, 204)
    confirmed = await api.post(f"/api/v1/documents/{created['document']['id']}/confirm", headers=me.headers)
    assert confirmed.json()["sha256"] == hashlib.sha256(data).hexdigest()
    assert confirmed.json()["metadata_removed"] is None  # not a photo: kept as uploaded
