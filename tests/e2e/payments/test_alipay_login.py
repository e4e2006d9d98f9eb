"""Alipay login for payments over HTTP against the Alipay simulator (the official SDK on our side): the parent
links their Alipay with a `my.getAuthCode` code (alipay.system.oauth.token, RSA2 both ways), an Alipay
mini-program order names that identity as the buyer, the client cannot name another; used, expired and
foreign codes, an identity another person holds, Alipay down, an app on user ids, unlinking."""

from __future__ import annotations

import httpx

from config.wiring import Dependencies
from tests.support.payments import PaySim
from tests.support.school_fees import FeeSchool, linked_parent
from tests.support.school_payments import ALIPAY_MINI, link_alipay, order_for, order_state
from tests.support.wechat import SimControl

LINK = "/api/v1/me/alipay"


async def test_a_parent_links_alipay_and_the_mini_program_order_is_paid_by_that_identity(
        api: httpx.AsyncClient, pdeps: Dependencies, wechat: SimControl, alipay: PaySim, school: FeeSchool) -> None:
    child = school.children[0]
    parent = await linked_parent(api, wechat, pdeps, school, child)
    bill_id = school.bills[child.id]
    unlinked = await order_for(api, parent, bill_id, **ALIPAY_MINI)
    assert unlinked.status_code == 422 and unlinked.json()["errcode"] == "ALIPAY_BUYER_REQUIRED"
    assert not (await api.get("/api/v1/me", headers=parent.headers)).json()["alipay"]

    minted = await alipay.post("auth_codes")
    linked = await api.post(LINK, json={"auth_code": minted["auth_code"]}, headers=parent.headers)
    assert linked.status_code == 200 and linked.json()["alipay"] is True, linked.text
    assert minted["open_id"] not in linked.text and minted["user_id"] not in linked.text  # never answered
    stored = await pdeps.db["people"].find_one({"_id": parent.person_id})
    assert stored["alipay"]["open_id"] == minted["open_id"] and "user_id" not in stored["alipay"]
    used = await api.post(LINK, json={"auth_code": minted["auth_code"]}, headers=parent.headers)
    assert used.status_code == 422 and used.json()["errcode"] == "ALIPAY_CODE_INVALID"  # isv.code-invalid
    again = await link_alipay(api, parent, alipay, user_id=minted["user_id"])  # the same Alipay again: no change
    assert again["open_id"] == minted["open_id"]
    assert await pdeps.db["account_events"].count_documents({"person_id": parent.person_id,
                                                             "type": "alipay_linked"}) == 1

    posing = await order_for(api, parent, bill_id, channel="alipay", alipay_open_id="0" + "x" * 46)
    assert posing.status_code == 422 and posing.json()["errcode"] == "ALIPAY_BUYER_MISMATCH"
    muddled = await order_for(api, parent, bill_id, channel="alipay", alipay_mode="wap", alipay_open_id="0x")
    assert muddled.status_code == 422 and muddled.json()["errcode"] == "VALIDATION_FAILED"
    legacy = await order_for(api, parent, bill_id, channel="alipay", alipay_open_id=minted["open_id"])
    assert legacy.status_code == 201 and legacy.json()["mode"] == "mini"  # an older client naming the same id
    created = await order_for(api, parent, bill_id, key="k-mini", **ALIPAY_MINI)
    assert created.status_code == 201, created.text
    order = created.json()
    trade = await alipay.get(f"trades/{order['id']}")
    assert (trade["buyer_open_id"], trade["product_code"]) == (minted["open_id"], "JSAPI_PAY")
    assert (await alipay.action("trades", order["id"], "pay")).status_code == 200
    await order_state(api, parent, order["id"], "paid")
    assert (await alipay.stats())["oauth"] == {"auth_codes_minted": 2, "tokens_issued": 2, "codes_refused": 1}


async def test_one_alipay_one_person_and_refusals_of_bad_codes(
        api: httpx.AsyncClient, pdeps: Dependencies, wechat: SimControl, alipay: PaySim, school: FeeSchool) -> None:
    child = school.children[1]
    owner = await linked_parent(api, wechat, pdeps, school, child)
    other = await linked_parent(api, wechat, pdeps, school, child)
    minted = await link_alipay(api, owner, alipay)
    code = (await alipay.post("auth_codes", {"user_id": minted["user_id"]}))["auth_code"]
    taken = await api.post(LINK, json={"auth_code": code}, headers=other.headers)
    assert taken.status_code == 409 and taken.json()["errcode"] == "ALIPAY_TAKEN"
    assert await pdeps.db["account_events"].count_documents(
        {"person_id": owner.person_id, "type": "alipay_link_attempt_by_other"}) == 1

    for what, answer in {
        "unknown": await api.post(LINK, json={"auth_code": "4b203fe6c11548bcabd8da5bb087a83b"}, headers=other.headers),
        "another app": await api.post(LINK, headers=other.headers, json={"auth_code": (await alipay.post(
            "auth_codes", {"app_id": "2021000000009999"}))["auth_code"]}),
    }.items():
        assert answer.status_code == 422 and answer.json()["errcode"] == "ALIPAY_CODE_INVALID", what
    await alipay.configure(auth_code_ttl_s=0)
    expired = (await alipay.post("auth_codes"))["auth_code"]
    refused = await api.post(LINK, json={"auth_code": expired}, headers=other.headers)
    assert refused.json()["errcode"] == "ALIPAY_CODE_INVALID"

    await alipay.configure(auth_code_ttl_s=180)
    fresh = (await alipay.post("auth_codes"))["auth_code"]
    await alipay.fault(method="alipay.system.oauth.token", sub_code="isp.unknow-error")
    busy = await api.post(LINK, json={"auth_code": fresh}, headers=other.headers)
    assert busy.status_code == 503 and busy.json()["errcode"] == "ALIPAY_UNAVAILABLE"
    retried = await api.post(LINK, json={"auth_code": fresh}, headers=other.headers)  # the code was not used up
    assert retried.status_code == 200 and retried.json()["alipay"] is True

    unlinked = await api.delete(LINK, headers=owner.headers)
    assert unlinked.status_code == 200 and unlinked.json()["alipay"] is False
    assert (await api.delete(LINK, headers=owner.headers)).status_code == 200  # idempotent
    refused_order = await order_for(api, owner, school.bills[child.id], **ALIPAY_MINI)
    assert refused_order.json()["errcode"] == "ALIPAY_BUYER_REQUIRED"


async def test_an_app_still_on_user_ids_pays_by_buyer_id(
        api: httpx.AsyncClient, pdeps: Dependencies, wechat: SimControl, alipay: PaySim, school: FeeSchool) -> None:
    await alipay.configure(oauth_id_type="user_id")
    child = school.children[0]
    parent = await linked_parent(api, wechat, pdeps, school, child)
    minted = await link_alipay(api, parent, alipay)
    assert (await pdeps.db["people"].find_one({"_id": parent.person_id}))["alipay"]["user_id"] == minted["user_id"]
    created = await order_for(api, parent, school.bills[child.id], **ALIPAY_MINI)
    assert created.status_code == 201, created.text
    trade = await alipay.get(f"trades/{created.json()['id']}")
    assert (trade["buyer_id"], trade["buyer_open_id"]) == (minted["user_id"], None)
    legacy = await order_for(api, parent, school.bills[child.id], channel="alipay", alipay_open_id=minted["user_id"])
    assert legacy.status_code == 201  # the linked id, whichever kind it is
