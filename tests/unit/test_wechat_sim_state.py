"""Protocol rules of the WeChat simulator's state, without HTTP: people, codes, tokens, faults."""

from __future__ import annotations

import pytest

from simulators.wechat_state import ControlError, SimApp, SimError, WeChatSimState, derive_openid

MP, OA = "wxmp", "wxoa"


@pytest.fixture
def sim() -> WeChatSimState:
    return WeChatSimState([SimApp("miniprogram", MP, "mp-secret"), SimApp("official_account", OA, "oa-secret")])


def errcode(call: object, *args: object) -> int:
    with pytest.raises(SimError) as caught:
        call(*args)  # type: ignore[operator]
    return caught.value.errcode


def test_derived_openids_are_stable_and_per_app() -> None:
    assert derive_openid(MP, "oU1") == derive_openid(MP, "oU1") != derive_openid(OA, "oU1")
    assert len(derive_openid(MP, "oU1")) == 28 and derive_openid(MP, "oU1").startswith("o")


def test_code_is_single_use_and_expires(sim: WeChatSimState) -> None:
    code = sim.mint_code("miniprogram", unionid="oU1")["code"]
    assert sim.session_for(MP, code)["unionid"] == "oU1"
    assert errcode(sim.session_for, MP, code) == 40163
    late = sim.mint_code("miniprogram", unionid="oU1")["code"]
    sim.clock_offset += 301
    assert errcode(sim.session_for, MP, late) == 40029
    assert errcode(sim.session_for, MP, "unknown") == 40029
    assert errcode(sim.session_for, MP, None) == 41008


def test_code_of_another_app_is_invalid(sim: WeChatSimState) -> None:
    code = sim.mint_code("official_account", unionid="oU1")["code"]
    assert errcode(sim.session_for, MP, code) == 40029
    assert sim.oauth_token_for(OA, code)["openid"] == derive_openid(OA, "oU1")


def test_person_without_unionid_gets_none(sim: WeChatSimState) -> None:
    minted = sim.mint_code("miniprogram", openid="oSolo")
    assert minted["unionid"] is None and "unionid" not in sim.session_for(MP, minted["code"])


def test_conflicting_person_is_refused(sim: WeChatSimState) -> None:
    sim.mint_code("miniprogram", openid="oA", unionid="oU1")
    with pytest.raises(ControlError) as caught:
        sim.mint_code("miniprogram", openid="oA", unionid="oU2")
    assert caught.value.status == 409
    with pytest.raises(ControlError):
        sim.mint_code("miniprogram", openid="oB", unionid="oU1")


def test_credentials_are_checked(sim: WeChatSimState) -> None:
    assert sim.check_app(MP, "mp-secret").kind == "miniprogram"
    assert errcode(sim.check_app, "wxother", "x") == 40013
    assert errcode(sim.check_app, MP, "oa-secret") == 40125
    assert errcode(sim.check_app, None, "x") == 41002
    assert errcode(sim.check_app, MP, "") == 41004


def test_new_access_token_retires_the_old_one_after_grace(sim: WeChatSimState) -> None:
    old = sim.issue_access_token(MP)["access_token"]
    new = sim.issue_access_token(MP)["access_token"]
    sim.check_access_token(old)
    sim.clock_offset += 301
    assert errcode(sim.check_access_token, old) == 42001
    sim.check_access_token(new)
    assert sim.revoke_access_tokens(MP) == 2
    assert errcode(sim.check_access_token, new) == 40001
    assert sim.stats()["access_tokens_issued_by_appid"] == {MP: 2}


def test_faults_are_consumed_in_order(sim: WeChatSimState) -> None:
    sim.add_fault("/sns/jscode2session", errcode=-1, delay_ms=0, http_status=None, times=2)
    sim.add_fault("/sns/jscode2session", errcode=None, delay_ms=50, http_status=None, times=1)
    seen = [sim.next_fault("/sns/jscode2session") for _ in range(4)]
    assert [(f.errcode, f.delay_ms) if f else None for f in seen] == [(-1, 0), (-1, 0), (None, 50), None]
    with pytest.raises(ControlError):
        sim.add_fault("/sns/jscode2session", errcode=None, delay_ms=0, http_status=None, times=1)
