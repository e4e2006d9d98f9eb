"""Mini-program login (jscode2session) through the real adapter against the WeChat simulator."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from config.settings import Settings
from config.wiring import Dependencies
from tests.support.wechat import SimControl
from wechat import (
    Busy,
    CodeAlreadyUsed,
    HighRiskUser,
    InvalidCode,
    InvalidCredentials,
    RateLimited,
    TransportError,
    WeChatClients,
)
from wechat.miniprogram import MiniProgram

LOGIN = "/sns/jscode2session"


async def test_login_with_unionid(wechat_sim: SimControl, wechat: WeChatClients) -> None:
    minted = await wechat_sim.code(unionid="oUnion_login_1")
    session = await wechat.miniprogram.code2session(minted["code"])
    assert session.openid == minted["openid"] and session.openid.startswith("o") and len(session.openid) == 28
    assert session.unionid == "oUnion_login_1"
    assert len(session.session_key) >= 16
    assert "session_key" not in repr(session) and session.session_key not in repr(session)


async def test_login_without_unionid(wechat_sim: SimControl, wechat: WeChatClients) -> None:
    minted = await wechat_sim.code(openid="oOnlyMiniProgram01")
    session = await wechat.miniprogram.code2session(minted["code"])
    assert (session.openid, session.unionid) == ("oOnlyMiniProgram01", None)


async def test_same_unionid_gives_the_same_openid_every_login(wechat_sim: SimControl, wechat: WeChatClients) -> None:
    first = await wechat.miniprogram.code2session((await wechat_sim.code(unionid="oStable"))["code"])
    second = await wechat.miniprogram.code2session((await wechat_sim.code(unionid="oStable"))["code"])
    assert first.openid == second.openid and first.session_key != second.session_key


async def test_unknown_code_is_invalid(wechat_sim: SimControl, wechat: WeChatClients) -> None:
    with pytest.raises(InvalidCode) as caught:
        await wechat.miniprogram.code2session("no-such-code")
    assert caught.value.errcode == 40029 and "rid:" in caught.value.errmsg
    assert await wechat_sim.calls(LOGIN) == 1  # not retried


async def test_code_reuse_is_refused(wechat_sim: SimControl, wechat: WeChatClients) -> None:
    code = (await wechat_sim.code(unionid="oReplay"))["code"]
    await wechat.miniprogram.code2session(code)
    with pytest.raises(CodeAlreadyUsed) as caught:
        await wechat.miniprogram.code2session(code)
    assert caught.value.errcode == 40163
    assert await wechat_sim.calls(LOGIN) == 2


async def test_expired_code_is_invalid(wechat_sim: SimControl, wechat: WeChatClients) -> None:
    code = (await wechat_sim.code(unionid="oLate"))["code"]
    await wechat_sim.advance(301)  # codes live 5 minutes
    with pytest.raises(InvalidCode):
        await wechat.miniprogram.code2session(code)


async def test_official_account_code_does_not_log_into_the_mini_program(wechat_sim: SimControl, wechat: WeChatClients) -> None:
    code = (await wechat_sim.code("official_account", unionid="oOtherApp"))["code"]
    with pytest.raises(InvalidCode):
        await wechat.miniprogram.code2session(code)


@pytest.mark.parametrize(("errcode", "error"), [(45011, RateLimited), (40226, HighRiskUser)])
async def test_final_errors_are_mapped_and_never_retried(
    wechat_sim: SimControl, wechat: WeChatClients, errcode: int, error: type[Exception]
) -> None:
    code = (await wechat_sim.code(unionid="oFinal"))["code"]
    await wechat_sim.fault(LOGIN, errcode=errcode, times=3)
    with pytest.raises(error) as caught:
        await wechat.miniprogram.code2session(code)
    assert caught.value.errcode == errcode  # type: ignore[attr-defined]
    assert await wechat_sim.calls(LOGIN) == 1


async def test_busy_once_is_retried_and_succeeds(wechat_sim: SimControl, wechat: WeChatClients) -> None:
    minted = await wechat_sim.code(unionid="oBusyOnce")
    await wechat_sim.fault(LOGIN, errcode=-1, times=1)
    session = await wechat.miniprogram.code2session(minted["code"])
    assert session.openid == minted["openid"]
    assert await wechat_sim.calls(LOGIN) == 2


async def test_busy_twice_gives_up_after_two_attempts(wechat_sim: SimControl, wechat: WeChatClients) -> None:
    code = (await wechat_sim.code(unionid="oBusyTwice"))["code"]
    await wechat_sim.fault(LOGIN, errcode=-1, times=3)
    with pytest.raises(Busy) as caught:
        await wechat.miniprogram.code2session(code)
    assert caught.value.errcode == -1
    stats = await wechat_sim.stats()
    assert stats["calls"][LOGIN] == 2 and stats["faults_pending"] == {LOGIN: 1}


async def test_slow_wechat_hits_the_client_timeout(wechat_sim: SimControl, settings: Settings, deps: Dependencies) -> None:
    clients = WeChatClients.from_settings(settings, deps.redis, timeout_s=0.3, retry_backoff_s=0.05)
    try:
        code = (await wechat_sim.code(unionid="oSlow"))["code"]
        await wechat_sim.fault(LOGIN, delay_ms=3000, times=2)
        started = time.monotonic()
        with pytest.raises(TransportError) as caught:
            await clients.miniprogram.code2session(code)
        elapsed = time.monotonic() - started
    finally:
        await clients.aclose()
    assert caught.value.errcode is None and "timeout" in caught.value.errmsg
    assert 0.6 <= elapsed < 2.0  # two attempts of 0.3 s each, not the simulator's 3 s
    assert await wechat_sim.calls(LOGIN) == 2


async def test_wechat_down_is_a_transport_error(wechat_sim: SimControl, wechat: WeChatClients) -> None:
    code = (await wechat_sim.code(unionid="oDown"))["code"]
    await wechat_sim.fault(LOGIN, http_status=502, times=2)
    with pytest.raises(TransportError) as caught:
        await wechat.miniprogram.code2session(code)
    assert caught.value.status == 502


async def test_wrong_secret_is_a_configuration_error(wechat_sim: SimControl, wechat: WeChatClients) -> None:
    wrong = MiniProgram(wechat.http, appid=wechat.miniprogram.appid, secret="not-the-secret")
    with pytest.raises(InvalidCredentials) as caught:
        await wrong.code2session((await wechat_sim.code(unionid="oCfg"))["code"])
    assert caught.value.errcode == 40125


async def test_secret_code_and_session_key_never_reach_the_logs(
    wechat_sim: SimControl, wechat: WeChatClients, settings: Settings, log_path: Path
) -> None:
    code = (await wechat_sim.code(unionid="oLogged"))["code"]
    session = await wechat.miniprogram.code2session(code)
    logged = await asyncio.to_thread(log_path.read_text, encoding="utf-8")
    # httpx's own request line is silenced (WARNING) by config/logging.py; if it is ever turned on, the
    # adapter's redaction filter still applies — either way none of the secrets below may appear.
    assert "wechat_code2session" in logged
    for secret in (settings.wechat_mp_secret.get_secret_value(), code, session.session_key):
        assert secret not in logged
