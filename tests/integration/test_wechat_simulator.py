"""The WeChat simulator's wire format and control API, spoken to over raw HTTP (no adapter in between)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from config.settings import Settings
from tests.support.wechat import SimControl


async def wechat_get(wechat_sim: SimControl, path: str, **params: Any) -> dict[str, Any]:
    response = await wechat_sim.client.get(f"/wechat{path}", params=params)
    assert response.status_code == 200  # WeChat reports errors in the body, not the status
    return response.json()


def mp(settings: Settings, **params: Any) -> dict[str, Any]:
    return {"appid": settings.wechat_mp_appid, "secret": settings.wechat_mp_secret.get_secret_value(), **params}


async def test_provider_is_listed(wechat_sim: SimControl) -> None:
    index = (await wechat_sim.client.get("/_sim/")).json()
    assert "wechat" in [p["name"] for p in index["providers"]]


async def test_token_endpoint_checks_the_credentials_like_wechat(wechat_sim: SimControl, settings: Settings) -> None:
    good = mp(settings, grant_type="client_credential")
    cases = [
        ({**good, "appid": "wx-unknown"}, 40013),
        ({**good, "secret": "wrong"}, 40125),
        ({**good, "grant_type": "password"}, 40002),
        ({k: v for k, v in good.items() if k != "appid"}, 41002),
        ({k: v for k, v in good.items() if k != "secret"}, 41004),
    ]
    for params, errcode in cases:
        body = await wechat_get(wechat_sim, "/cgi-bin/token", **params)
        assert body["errcode"] == errcode and ", rid: " in body["errmsg"], body
    issued = await wechat_get(wechat_sim, "/cgi-bin/token", **good)
    assert set(issued) == {"access_token", "expires_in"} and issued["expires_in"] == 7200
    assert (await wechat_sim.stats())["access_tokens_issued"] == 1


async def test_access_token_expiry_and_grace_of_the_previous_token(wechat_sim: SimControl, settings: Settings) -> None:
    await wechat_sim.configure(access_token_expires_in=600)
    first = (await wechat_get(wechat_sim, "/cgi-bin/token", **mp(settings, grant_type="client_credential")))["access_token"]
    second = (await wechat_get(wechat_sim, "/cgi-bin/token", **mp(settings, grant_type="client_credential")))["access_token"]
    assert "ip_list" in await wechat_get(wechat_sim, "/cgi-bin/get_api_domain_ip", access_token=first)  # still in grace
    await wechat_sim.advance(301)
    assert (await wechat_get(wechat_sim, "/cgi-bin/get_api_domain_ip", access_token=first))["errcode"] == 42001
    assert "ip_list" in await wechat_get(wechat_sim, "/cgi-bin/get_api_domain_ip", access_token=second)
    await wechat_sim.advance(300)
    assert (await wechat_get(wechat_sim, "/cgi-bin/get_api_domain_ip", access_token=second))["errcode"] == 42001
    assert (await wechat_get(wechat_sim, "/cgi-bin/get_api_domain_ip", access_token="made-up"))["errcode"] == 40001
    assert (await wechat_get(wechat_sim, "/cgi-bin/get_api_domain_ip"))["errcode"] == 41001


async def test_jscode2session_shape(wechat_sim: SimControl, settings: Settings) -> None:
    minted = await wechat_sim.code(unionid="oShape")
    response = await wechat_sim.client.get("/wechat/sns/jscode2session", params=mp(
        settings, js_code=minted["code"], grant_type="authorization_code"))
    assert response.headers["Content-Type"].startswith("text/plain")  # as WeChat serves it
    assert set(response.json()) == {"openid", "session_key", "unionid"}
    again = await wechat_get(wechat_sim, "/sns/jscode2session", **mp(settings, js_code=minted["code"],
                                                            grant_type="authorization_code"))
    assert again["errcode"] == 40163
    missing = await wechat_get(wechat_sim, "/sns/jscode2session", **mp(settings, grant_type="authorization_code"))
    assert missing["errcode"] == 41008


async def test_openids_are_per_app_and_joined_by_unionid(wechat_sim: SimControl) -> None:
    mini = await wechat_sim.code("miniprogram", unionid="oJoined")
    account = await wechat_sim.code("official_account", unionid="oJoined")
    assert mini["unionid"] == account["unionid"] == "oJoined" and mini["openid"] != account["openid"]
    assert (await wechat_sim.code("miniprogram", unionid="oJoined"))["openid"] == mini["openid"]
    fresh = await wechat_sim.code("miniprogram")
    assert fresh["unionid"] and fresh["openid"]


async def test_control_api_rejects_bad_requests(wechat_sim: SimControl) -> None:
    await wechat_sim.code("miniprogram", openid="oFixed", unionid="oFirstUnion")
    conflict = await wechat_sim.client.post("/_sim/wechat/codes", json={
        "app": "miniprogram", "openid": "oFixed", "unionid": "oOtherUnion"})
    assert conflict.status_code == 409
    for path, body in [
        ("codes", {"app": "alipay"}),
        ("codes", {"app": "miniprogram", "openid": "has spaces"}),
        ("faults", {"path": "/sns/nothing", "errcode": -1}),
        ("faults", {"path": "/sns/jscode2session"}),
        ("faults", {"path": "/sns/jscode2session", "errcode": "x"}),
    ]:
        response = await wechat_sim.client.post(f"/_sim/wechat/{path}", json=body)
        assert response.status_code == 400 and "error" in response.json(), (path, body)


async def test_faults_accept_the_full_path_and_reset_clears_them(wechat_sim: SimControl) -> None:
    await wechat_sim.fault("/wechat/sns/jscode2session", errcode=45011, times=2)
    assert (await wechat_sim.stats())["faults_pending"] == {"/sns/jscode2session": 2}
    await wechat_sim._post("reset")
    stats = await wechat_sim.stats()
    assert stats["faults_pending"] == {} and stats["calls"] == {} and stats["codes_minted"] == 0


async def test_authorize_validates_like_wechat(wechat_sim: SimControl, settings: Settings) -> None:
    base = {"appid": settings.wechat_oa_appid, "redirect_uri": "https://zsb.example.gov.cn/cb",
            "response_type": "code", "scope": "snsapi_base", "state": "abc", "sim_unionid": "oPage"}
    for change, errcode in [({"appid": settings.wechat_mp_appid}, 10016), ({"scope": "snsapi_login"}, 10005),
                            ({"redirect_uri": "javascript:alert(1)"}, 10003), ({"response_type": "token"}, 10004)]:
        response = await wechat_sim.client.get("/wechat/connect/oauth2/authorize", params={**base, **change})
        assert response.status_code == 400 and response.json()["errcode"] == errcode
    nobody = {k: v for k, v in base.items() if k != "sim_unionid"}
    assert (await wechat_sim.client.get("/wechat/connect/oauth2/authorize", params=nobody)).status_code == 400


async def test_person_can_refuse_the_userinfo_scope(wechat_sim: SimControl, settings: Settings) -> None:
    response = await wechat_sim.client.get("/wechat/connect/oauth2/authorize", params={
        "appid": settings.wechat_oa_appid, "redirect_uri": "https://zsb.example.gov.cn/cb", "response_type": "code",
        "scope": "snsapi_userinfo", "state": "s1", "sim_unionid": "oShy", "sim_decision": "deny"})
    assert response.status_code == 302 and response.headers["Location"] == "https://zsb.example.gov.cn/cb?state=s1"


async def test_simulator_access_log_hides_query_strings(
    wechat_sim: SimControl, settings: Settings, log_path: Path
) -> None:
    await wechat_sim.fault("/sns/jscode2session", http_status=503)
    response = await wechat_sim.client.get("/wechat/sns/jscode2session", params=mp(settings, js_code="c0de-in-url"))
    assert response.status_code == 503
    text = await asyncio.to_thread(log_path.read_text, encoding="utf-8")
    lines = [json.loads(line) for line in text.splitlines()]
    access = [line["event"] for line in lines if line.get("logger") == "tornado.access"]
    assert any("503 GET /wechat/sns/jscode2session" in event for event in access)
    assert not any("c0de-in-url" in event or "secret=" in event for event in access)


async def test_timeout_of_a_client_does_not_break_the_simulator(wechat_sim: SimControl, settings: Settings) -> None:
    await wechat_sim.fault("/cgi-bin/token", delay_ms=2000)
    async with httpx.AsyncClient(base_url=wechat_sim.client.base_url, timeout=0.2) as impatient:
        with pytest.raises(httpx.TimeoutException):
            await impatient.get("/wechat/cgi-bin/token", params=mp(settings, grant_type="client_credential"))
    body = await wechat_get(wechat_sim, "/cgi-bin/token", **mp(settings, grant_type="client_credential"))
    assert body["expires_in"] == 7200
