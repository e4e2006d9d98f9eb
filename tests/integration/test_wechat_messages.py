"""Subscribe messages and official-account template messages: our adapter against the WeChat simulator.

The simulator plays the person (grants, follows) and keeps WeChat's rules: one grant = one message, followers
only, field rules (47003), token refresh on 40001.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from config.settings import Settings
from tests.support.wechat import SimControl
from wechat import (
    Busy,
    InvalidOpenid,
    InvalidTemplateData,
    InvalidTemplateId,
    NotFollower,
    SubscriptionRefused,
    TransportError,
    WeChatClients,
    is_transient,
)
from wechat.subscribe_fields import fit_data

SEND = "/cgi-bin/message/subscribe/send"
TEMPLATE_SEND = "/cgi-bin/message/template/send"
CASE = "mp-case-progress"  # a government-service template: long-term grants allowed
BILL = "mp-bill-published"  # one-time grants only
OA_CASE = "oa-case-progress"


def case_data(note: str = "请留意后续通知") -> dict[str, str]:
    return fit_data({
        "thing1": "出生医学证明首次签发", "character_string2": "ZSB20240501000123", "phrase3": "已受理",
        "time4": datetime(2024, 5, 1, 7, 30, tzinfo=UTC), "thing5": note,
    })


async def test_one_grant_allows_exactly_one_message(wechat: WeChatClients, wechat_sim: SimControl) -> None:
    person = await wechat_sim.grant(CASE, unionid="oWangFang")
    openid = person["openid"]
    await wechat.subscribe.send_subscribe_message(openid, CASE, case_data(), "pages/cases/detail?id=1")
    with pytest.raises(SubscriptionRefused) as refused:
        await wechat.subscribe.send_subscribe_message(openid, CASE, case_data(), "pages/cases/detail?id=1")
    assert refused.value.errcode == 43101 and not is_transient(refused.value)
    [message] = await wechat_sim.messages(openid=openid)
    assert message["kind"] == "subscribe" and message["unionid"] == "oWangFang"
    assert message["page"] == "pages/cases/detail?id=1" and message["miniprogram_state"] == "formal"
    assert message["data"]["time4"] == "2024年5月1日 15:30"  # Asia/Shanghai
    assert message["text"].splitlines()[:4] == ["办件进度通知", "事项名称：出生医学证明首次签发",
                                                "办件编号：ZSB20240501000123", "办理状态：已受理"]
    assert await wechat_sim.grants(openid=openid) == [
        {"template_id": CASE, "remaining": 0, "long_term": False, "refused": False}]


async def test_refusals_long_term_grants_and_cancelling(wechat: WeChatClients, wechat_sim: SimControl) -> None:
    send = wechat.subscribe.send_subscribe_message
    rejected = (await wechat_sim.grant(CASE, unionid="oRejects", decision="reject"))["openid"]
    with pytest.raises(SubscriptionRefused):
        await send(rejected, CASE, case_data(), None)
    loyal = (await wechat_sim.grant(CASE, unionid="oLongTerm", long_term=True))["openid"]
    for n in range(3):
        await send(loyal, CASE, case_data(f"第{n + 1}条"), None)
    assert len(await wechat_sim.messages(unionid="oLongTerm")) == 3
    refused = await wechat_sim.client.post("/_sim/wechat/subscribe-grants",
                                           json={"template_id": BILL, "unionid": "oLongTerm", "long_term": True})
    assert refused.status_code == 400 and "one-time" in refused.json()["error"]
    (await wechat_sim.client.delete("/_sim/wechat/subscribe-grants",
                                    params={"unionid": "oLongTerm", "template_id": CASE})).raise_for_status()
    with pytest.raises(SubscriptionRefused):
        await send(loyal, CASE, case_data(), None)


async def test_field_rules_are_enforced_and_a_refusal_uses_no_grant(
    wechat: WeChatClients, wechat_sim: SimControl
) -> None:
    openid = (await wechat_sim.grant(CASE, unionid="oFields"))["openid"]
    raw = {**case_data(), "thing1": "出生医学证明首次签发及户口登记一件事联办申请"}  # 22 characters
    with pytest.raises(InvalidTemplateData) as bad:
        await wechat.subscribe.send_subscribe_message(openid, CASE, raw, None)
    assert bad.value.errcode == 47003 and "data.thing1.value" in bad.value.errmsg
    for field, value in [("phrase3", "Accepted"), ("time4", "5月1日"), ("character_string2", "办件123")]:
        with pytest.raises(InvalidTemplateData) as bad:
            await wechat.subscribe.send_subscribe_message(openid, CASE, {**case_data(), field: value}, None)
        assert f"data.{field}.value" in bad.value.errmsg
    # the same text fitted honestly goes through, on the grant the refusals did not use
    fitted = fit_data({**raw, "character_string2": "ZSB-" + "0123456789" * 4})
    await wechat.subscribe.send_subscribe_message(openid, CASE, fitted, None)
    [message] = await wechat_sim.messages(openid=openid)
    assert message["data"]["thing1"] == "出生医学证明首次签发及户口登记一件事联…"
    assert message["data"]["character_string2"].endswith("...") and len(message["data"]["character_string2"]) == 32


async def test_unknown_person_or_template(wechat: WeChatClients, wechat_sim: SimControl) -> None:
    openid = (await wechat_sim.grant(CASE, unionid="oUnknowns"))["openid"]
    with pytest.raises(InvalidOpenid):
        await wechat.subscribe.send_subscribe_message("oNobodyAtAll", CASE, case_data(), None)
    with pytest.raises(InvalidTemplateId):
        await wechat.subscribe.send_subscribe_message(openid, "no-such-template", case_data(), None)
    with pytest.raises(InvalidTemplateId):  # an official-account template is not a subscribe template
        await wechat.subscribe.send_subscribe_message(openid, OA_CASE, case_data(), None)


async def test_an_expired_token_is_refreshed_once(wechat: WeChatClients, wechat_sim: SimControl) -> None:
    openid = (await wechat_sim.grant(CASE, unionid="oTokens", count=2))["openid"]
    await wechat.subscribe.send_subscribe_message(openid, CASE, case_data(), None)
    await wechat_sim.revoke_tokens()  # WeChat now answers 40001 to the cached token
    await wechat.subscribe.send_subscribe_message(openid, CASE, case_data(), None)
    stats = await wechat_sim.stats()
    assert stats["access_tokens_issued"] == 2 and stats["calls"][SEND] == 3
    assert stats["messages_sent"] == {"subscribe": 2}
    assert len(await wechat_sim.messages(openid=openid)) == 2


async def test_faults_are_transient_and_use_no_grant(wechat: WeChatClients, wechat_sim: SimControl) -> None:
    openid = (await wechat_sim.grant(CASE, unionid="oFaults"))["openid"]
    await wechat_sim.fault(SEND, errcode=-1)
    with pytest.raises(Busy) as busy:
        await wechat.subscribe.send_subscribe_message(openid, CASE, case_data(), None)
    await wechat_sim.fault(SEND, http_status=502)
    with pytest.raises(TransportError) as down:
        await wechat.subscribe.send_subscribe_message(openid, CASE, case_data(), None)
    assert is_transient(busy.value) and is_transient(down.value) and down.value.status == 502
    await wechat.subscribe.send_subscribe_message(openid, CASE, case_data(), None)
    assert len(await wechat_sim.messages(openid=openid)) == 1


async def test_template_messages_reach_followers_only(
    wechat: WeChatClients, wechat_sim: SimControl, settings: Settings
) -> None:
    oa = wechat.official_account
    data = {k: v for k, v in case_data().items() if k != "thing5"}
    follower = await wechat_sim.follow(unionid="oFollower")
    link = (settings.wechat_mp_appid, "pages/cases/detail?id=1")
    msgid = await oa.send_template_message(follower["openid"], OA_CASE, data, miniprogram=link)
    assert isinstance(msgid, int)
    [message] = await wechat_sim.messages(unionid="oFollower")
    assert message["kind"] == "template" and message["msgid"] == msgid and message["appid"] == settings.wechat_oa_appid
    assert message["miniprogram"] == {"appid": settings.wechat_mp_appid, "pagepath": "pages/cases/detail?id=1"}
    await wechat_sim.unfollow(unionid="oFollower")
    with pytest.raises(NotFollower) as not_following:
        await oa.send_template_message(follower["openid"], OA_CASE, data, miniprogram=link)
    assert not_following.value.errcode == 43004 and not is_transient(not_following.value)
    stranger = await wechat_sim.follow(unionid="oStranger", follow=False)  # known to the account, not following
    with pytest.raises(NotFollower):
        await oa.send_template_message(stranger["openid"], OA_CASE, data, url="https://zsb.example.gov.cn/cases/1")


async def test_client_msg_id_sends_once(wechat: WeChatClients, wechat_sim: SimControl) -> None:
    openid = (await wechat_sim.follow(unionid="oRetried"))["openid"]
    data = {k: v for k, v in case_data().items() if k != "thing5"}
    first = await wechat.official_account.send_template_message(openid, OA_CASE, data, client_msg_id="evt-1:oa")
    again = await wechat.official_account.send_template_message(openid, OA_CASE, data, client_msg_id="evt-1:oa")
    other = await wechat.official_account.send_template_message(openid, OA_CASE, data, client_msg_id="evt-2:oa")
    assert first == again != other
    assert [m["client_msg_id"] for m in await wechat_sim.messages(openid=openid)] == ["evt-2:oa", "evt-1:oa"]


async def test_one_unionid_reads_both_apps(wechat: WeChatClients, wechat_sim: SimControl) -> None:
    mp_openid = (await wechat_sim.grant(CASE, unionid="oBothApps"))["openid"]
    oa_openid = (await wechat_sim.follow(unionid="oBothApps"))["openid"]
    assert mp_openid != oa_openid  # openids are per app; the unionid joins them
    await wechat.subscribe.send_subscribe_message(mp_openid, CASE, case_data(), None)
    data = {k: v for k, v in case_data().items() if k != "thing5"}
    await wechat.official_account.send_template_message(oa_openid, OA_CASE, data)
    assert [m["kind"] for m in await wechat_sim.messages(unionid="oBothApps")] == ["template", "subscribe"]
