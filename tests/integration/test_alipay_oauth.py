"""alipay.system.oauth.token through the real adapter (`AlipayClient.user_of`: the official SDK signs the request
and verifies the answer) against the gateway simulator: open ids and user ids, single-use codes, refusals in
Alipay's `error_response` shape, requests and answers signed with the wrong keys."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from config.settings import Settings
from payments.alipay import AlipayClient
from payments.errors import ProviderRejected, ProviderUnavailable
from payments.keys import new_private_key, private_key_text, public_key_text
from simulators.alipay_oauth import open_id_of
from tests.support.payments import PaySim, fresh_pay_sim


@pytest.fixture
async def sim(simulators: str) -> AsyncIterator[PaySim]:
    async with fresh_pay_sim(simulators, "alipay") as control:
        yield control


@pytest.fixture
async def alipay(settings: Settings) -> AsyncIterator[AlipayClient]:
    client = AlipayClient.from_settings(settings)
    yield client
    await client.aclose()


async def test_a_code_gives_the_users_open_id_once(sim: PaySim, alipay: AlipayClient, settings: Settings) -> None:
    minted = await sim.post("auth_codes")
    user = await alipay.user_of(minted["auth_code"])
    assert (user.open_id, user.user_id) == (minted["open_id"], None)
    assert user.open_id == open_id_of(settings.alipay_app_id, minted["user_id"]) and len(user.open_id) == 47
    with pytest.raises(ProviderRejected) as used:
        await alipay.user_of(minted["auth_code"])
    assert used.value.code == "isv.code-invalid"
    again = await alipay.user_of((await sim.post("auth_codes", {"user_id": minted["user_id"]}))["auth_code"])
    assert again.open_id == user.open_id  # the same person, the same open id for this app
    await sim.configure(oauth_id_type="user_id")
    older_app = await alipay.user_of((await sim.post("auth_codes", {"user_id": minted["user_id"]}))["auth_code"])
    assert (older_app.open_id, older_app.user_id) == (None, minted["user_id"])


async def test_refusals_come_as_a_signed_error_response(sim: PaySim, alipay: AlipayClient, simulators: str) -> None:
    await sim.configure(auth_code_ttl_s=0)
    with pytest.raises(ProviderRejected) as expired:
        await alipay.user_of((await sim.post("auth_codes"))["auth_code"])
    assert expired.value.code == "isv.code-invalid"
    async with httpx.AsyncClient(base_url=simulators) as raw:  # what the gateway answers on the wire
        answer = await raw.post("/alipay/gateway.do", data={"method": "alipay.system.oauth.token",
                                                            "grant_type": "authorization_code", "code": "x"})
    body = json.loads(answer.text)
    assert set(body) == {"error_response", "sign"} and body["error_response"]["sub_code"] == "isv.missing-app-id"
    await sim.fault(method="alipay.system.oauth.token", sub_code="isp.unknow-error")
    with pytest.raises(ProviderUnavailable) as busy:
        await alipay.user_of("4b203fe6c11548bcabd8da5bb087a83b")
    assert (busy.value.code, busy.value.retryable) == ("isp.unknow-error", True)
    stats = await sim.stats()
    assert stats["oauth"]["codes_refused"] == 1 and stats["auth_codes_pending"] == 0


async def test_the_request_and_the_answer_are_signed(sim: PaySim, settings: Settings) -> None:
    intruder = AlipayClient.from_settings(settings.model_copy(
        update={"alipay_app_private_key": SecretStr(private_key_text(new_private_key()))}))
    fooled = AlipayClient.from_settings(settings.model_copy(
        update={"alipay_public_key": public_key_text(new_private_key().public_key())}))
    try:
        code = (await sim.post("auth_codes"))["auth_code"]
        with pytest.raises(ProviderRejected) as forged:
            await intruder.user_of(code)
        assert forged.value.code == "isv.invalid-signature"
        with pytest.raises(ProviderUnavailable) as unsigned:
            await fooled.user_of(code)  # Alipay's answer is not believed without Alipay's signature
        assert unsigned.value.code == "BAD_SIGNATURE"
        assert (await sim.stats())["oauth"]["tokens_issued"] == 1  # the forged request used nothing up
    finally:
        await intruder.aclose()
        await fooled.aclose()
