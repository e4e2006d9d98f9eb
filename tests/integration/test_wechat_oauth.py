"""Official-account web OAuth through the adapter: authorize, state checks, code exchange, profile, unionid."""

from __future__ import annotations

import pytest

from config.wiring import Dependencies
from tests.support.wechat import SimControl
from wechat import CodeAlreadyUsed, OAuthStateError, WeChatClients, WeChatError

EXCHANGE = "/sns/oauth2/access_token"
CALLBACK = "https://zsb.example.gov.cn/h5/oauth/callback?from=menu"


async def test_same_person_has_one_unionid_across_mini_program_and_official_account(
    wechat_sim: SimControl, wechat: WeChatClients
) -> None:
    session = await wechat.miniprogram.code2session((await wechat_sim.code(unionid="oZhangSan"))["code"])
    request = await wechat.oauth.authorize_url(CALLBACK, scope="snsapi_userinfo", data="/h5/cases")
    callback = await wechat_sim.authorize(request.url, sim_unionid="oZhangSan", sim_nickname="张三")
    assert callback["location"].startswith(CALLBACK + "&code=") and callback["state"] == request.state

    result = await wechat.oauth.exchange_code(callback["code"], callback["state"])
    assert result.unionid == session.unionid == "oZhangSan"
    assert result.openid != session.openid  # openids are per app
    assert (result.scope, result.data) == ("snsapi_userinfo", "/h5/cases")
    assert result.access_token not in repr(result)

    profile = await wechat.oauth.userinfo(result.access_token, result.openid)
    assert (profile.openid, profile.nickname, profile.unionid) == (result.openid, "张三", "oZhangSan")
    assert profile.headimgurl.startswith("http")


async def test_state_is_single_use(wechat_sim: SimControl, wechat: WeChatClients) -> None:
    request = await wechat.oauth.authorize_url(CALLBACK)
    callback = await wechat_sim.authorize(request.url, sim_unionid="oReplayer")
    await wechat.oauth.exchange_code(callback["code"], request.state)
    another = await wechat_sim.authorize(request.url, sim_unionid="oReplayer")  # a valid new code, the same old state
    with pytest.raises(OAuthStateError) as caught:
        await wechat.oauth.exchange_code(another["code"], request.state)
    assert caught.value.reason == "already_used"
    assert await wechat_sim.calls(EXCHANGE) == 1


async def test_unknown_state_is_refused_before_wechat_is_called(wechat_sim: SimControl, wechat: WeChatClients) -> None:
    code = (await wechat_sim.code("official_account", unionid="oForged"))["code"]
    for state in ("0" * 32, "", "not/alphanumeric", "x" * 129):
        with pytest.raises(OAuthStateError) as caught:
            await wechat.oauth.exchange_code(code, state)
        assert caught.value.reason == "unknown_or_expired"
    assert await wechat_sim.calls(EXCHANGE) == 0
    request = await wechat.oauth.authorize_url(CALLBACK)
    assert (await wechat.oauth.exchange_code(code, request.state)).openid  # the code was never spent


async def test_expired_state_is_refused(wechat_sim: SimControl, wechat: WeChatClients, deps: Dependencies) -> None:
    request = await wechat.oauth.authorize_url(CALLBACK)
    key = wechat.oauth.state_prefix + request.state
    assert 590 <= await deps.redis.ttl(key) <= 600
    await deps.redis.pexpire(key, 1)
    await wechat_sim.advance(0)  # a round trip, so the key has certainly expired
    with pytest.raises(OAuthStateError) as caught:
        await wechat.oauth.exchange_code("any-code", request.state)
    assert caught.value.reason == "unknown_or_expired"


async def test_state_bound_to_another_browser_is_refused(wechat_sim: SimControl, wechat: WeChatClients) -> None:
    request = await wechat.oauth.authorize_url(CALLBACK, binding="browser-A")
    callback = await wechat_sim.authorize(request.url, sim_unionid="oVictim")
    with pytest.raises(OAuthStateError) as caught:
        await wechat.oauth.exchange_code(callback["code"], request.state, binding="browser-B")
    assert caught.value.reason == "binding_mismatch"
    assert await wechat_sim.calls(EXCHANGE) == 0


async def test_state_bound_to_this_browser_is_accepted(wechat_sim: SimControl, wechat: WeChatClients) -> None:
    request = await wechat.oauth.authorize_url(CALLBACK, binding="browser-A")
    callback = await wechat_sim.authorize(request.url, sim_unionid="oOwner")
    assert (await wechat.oauth.exchange_code(callback["code"], request.state, binding="browser-A")).openid


async def test_silent_base_scope_gives_openid_only(wechat_sim: SimControl, wechat: WeChatClients) -> None:
    request = await wechat.oauth.authorize_url(CALLBACK, scope="snsapi_base")
    callback = await wechat_sim.authorize(request.url, sim_unionid="oQuiet")
    result = await wechat.oauth.exchange_code(callback["code"], request.state)
    assert result.scope == "snsapi_base" and result.unionid is None and result.openid
    with pytest.raises(WeChatError) as caught:
        await wechat.oauth.userinfo(result.access_token, result.openid)
    assert caught.value.errcode == 48001


async def test_oauth_code_reuse_is_refused_by_wechat(wechat_sim: SimControl, wechat: WeChatClients) -> None:
    first = await wechat.oauth.authorize_url(CALLBACK)
    callback = await wechat_sim.authorize(first.url, sim_unionid="oTwice")
    await wechat.oauth.exchange_code(callback["code"], first.state)
    second = await wechat.oauth.authorize_url(CALLBACK)
    with pytest.raises(CodeAlreadyUsed):
        await wechat.oauth.exchange_code(callback["code"], second.state)


async def test_current_person_authorizes_without_query_parameters(wechat_sim: SimControl, wechat: WeChatClients) -> None:
    person = await wechat_sim.set_person(unionid="oCurrent", nickname="李四")
    request = await wechat.oauth.authorize_url(CALLBACK, scope="snsapi_userinfo")
    callback = await wechat_sim.authorize(request.url)
    result = await wechat.oauth.exchange_code(callback["code"], request.state)
    assert (result.openid, result.unionid) == (person["openid"], "oCurrent")
    assert (await wechat.oauth.userinfo(result.access_token, result.openid)).nickname == "李四"
