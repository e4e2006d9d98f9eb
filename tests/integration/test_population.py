"""Real-name verification through the real adapter (population.PopulationClient) against the simulator."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from accounts.citizen_id import make_citizen_id
from config.settings import Settings
from core.masking import mask_id_number
from population import PopulationClient, PopulationRejected, PopulationUnavailable, VerifyResult, signing
from simulators.demo_people import by_key
from simulators.population_state import MAX_SKEW_S
from tests.support.population import PopulationSim, fresh_population_sim

FATHER = by_key("chen-zhiqiang")
MOTHER = by_key("li-xiulan")


@pytest.fixture
async def sim(simulators: str) -> AsyncIterator[PopulationSim]:
    async with fresh_population_sim(simulators) as control:
        yield control


@pytest.fixture
async def population(settings: Settings) -> AsyncIterator[PopulationClient]:
    async with PopulationClient.from_settings(settings, retry_backoff_s=0.05) as client:
        yield client


async def test_match_mismatch_not_found(sim: PopulationSim, population: PopulationClient) -> None:
    assert await population.verify(FATHER.name, FATHER.id_number) is VerifyResult.MATCH
    assert await population.verify(MOTHER.name, FATHER.id_number) is VerifyResult.MISMATCH
    unknown = make_citizen_id("430124", date(1980, 1, 1), 999)
    assert await population.verify(FATHER.name, unknown) is VerifyResult.NOT_FOUND
    stats = await sim.stats()
    assert stats["requests"] == 3 and stats["answered"] == {"match": 1, "mismatch": 1, "not_found": 1}


async def test_names_compare_like_a_registry(sim: PopulationSim, population: PopulationClient) -> None:
    person = by_key("maimaiti-aili")
    assert await population.verify(" 买买提•艾力 ", person.id_number.lower()) is VerifyResult.MATCH


async def test_control_api_lists_and_adds_people(sim: PopulationSim, population: PopulationClient) -> None:
    people = {p["key"]: p for p in await sim.people()}
    father = people["chen-zhiqiang"]
    assert father["id_number"] == "430124********0358" and father["phone"] == "138****0003"
    assert father["id_number_for_testing"] == FATHER.id_number and father["phone_for_testing"] == FATHER.phone
    assert people["chen-yutong"]["guardians"] == ["chen-zhiqiang", "li-xiulan"]

    number = make_citizen_id("430182", date(2001, 8, 8), 122)
    added = await sim.add_person(name="赵小满", id_number=number, phone="13800000010", key="zhao-xiaoman")
    assert added["gender"] == "F" and added["birth_date"] == "2001-08-08"
    assert await population.verify("赵小满", number) is VerifyResult.MATCH
    bad = await sim.client.post("/_sim/population/people", json={"name": "无效", "id_number": number[:-1] + "0"})
    assert bad.status_code == 400 and bad.json()["code"] == "CITIZEN_ID_CHECKSUM"


async def test_down_is_unavailable_after_exactly_one_retry(sim: PopulationSim, population: PopulationClient) -> None:
    await sim.fault("down")
    with pytest.raises(PopulationUnavailable) as caught:
        await population.verify(FATHER.name, FATHER.id_number)
    assert (caught.value.reason, caught.value.status) == ("http_503", 503)
    stats = await sim.stats()
    assert stats["requests"] == 2 and stats["faults_served"] == {"down": 2}


async def test_one_blip_is_absorbed_by_the_retry(sim: PopulationSim, population: PopulationClient) -> None:
    await sim.fault("down", times=1)
    assert await population.verify(FATHER.name, FATHER.id_number) is VerifyResult.MATCH
    assert (await sim.stats())["requests"] == 2


async def test_slow_beyond_timeout_is_unavailable(sim: PopulationSim, settings: Settings) -> None:
    await sim.fault("slow", delay_ms=3000)
    started = time.monotonic()
    async with PopulationClient(settings.population_base_url, settings.population_app_id,
                                settings.population_secret.get_secret_value(), 0.3, retry_backoff_s=0.05) as client:
        with pytest.raises(PopulationUnavailable) as caught:
            await client.verify(FATHER.name, FATHER.id_number)
    assert caught.value.reason == "timeout"
    assert time.monotonic() - started < 2.0  # two 0.3 s attempts, not the simulator's 3 s
    assert (await sim.stats())["requests"] == 2


async def test_bad_response_signature_is_never_a_match(sim: PopulationSim, population: PopulationClient) -> None:
    await sim.fault("bad_signature")
    with pytest.raises(PopulationUnavailable) as caught:
        await population.verify(FATHER.name, FATHER.id_number)
    assert caught.value.reason == "bad_signature"
    stats = await sim.stats()  # the platform did say "match"; we refused to believe an unsigned answer
    assert stats["answered"] == {"match": 1} and stats["requests"] == 1  # not retried: a retry cannot fix it


async def test_wrong_key_or_app_is_rejected_and_not_retried(sim: PopulationSim, settings: Settings) -> None:
    for app_id, secret, code in [(settings.population_app_id, "not-our-secret", "SIGNATURE_INVALID"),
                                 ("unknown-app", settings.population_secret.get_secret_value(), "APP_UNKNOWN")]:
        async with PopulationClient(settings.population_base_url, app_id, secret, 2.0) as client:
            with pytest.raises(PopulationRejected) as caught:
                await client.verify(FATHER.name, FATHER.id_number)
        assert (caught.value.status, caught.value.code) == (401, code)
    assert (await sim.stats())["requests"] == 2


def _signed(settings: Settings, body: bytes, stamp: signing.Stamp) -> dict[str, str]:
    return signing.request_headers(settings.population_app_id, settings.population_secret.get_secret_value(),
                                   body, stamp=stamp)


async def test_replayed_nonce_is_rejected(sim: PopulationSim, settings: Settings) -> None:
    body = json.dumps({"name": FATHER.name, "id_number": FATHER.id_number, "request_id": "replay-1"}).encode()
    headers = _signed(settings, body, signing.Stamp.now())
    async with httpx.AsyncClient(timeout=5) as raw:
        url = settings.population_base_url + signing.VERIFY_PATH
        first = await raw.post(url, content=body, headers=headers)
        assert first.status_code == 200 and first.json() == {"result": "match", "request_id": "replay-1"}
        signing.verify_response(settings.population_secret.get_secret_value(), 200, first.headers, first.content)
        again = await raw.post(url, content=body, headers=headers)
    assert (again.status_code, again.json()["code"]) == (401, "NONCE_REUSED")


# Whole seconds are signed: a skew of exactly the window plus one can land inside it by a fraction of a second.
@pytest.mark.parametrize("skew_s", [-(MAX_SKEW_S + 5), MAX_SKEW_S + 5])
async def test_stale_or_future_timestamp_is_rejected(sim: PopulationSim, settings: Settings, skew_s: int) -> None:
    body = json.dumps({"name": FATHER.name, "id_number": FATHER.id_number, "request_id": "stale-1"}).encode()
    headers = _signed(settings, body, signing.Stamp(int(time.time()) + skew_s, signing.new_nonce()))
    async with httpx.AsyncClient(timeout=5) as raw:
        response = await raw.post(settings.population_base_url + signing.VERIFY_PATH, content=body, headers=headers)
    assert (response.status_code, response.json()["code"]) == (401, "TIMESTAMP_EXPIRED")
    assert "X-Pop-Signature" not in response.headers


async def test_tampered_body_is_rejected(sim: PopulationSim, settings: Settings) -> None:
    body = json.dumps({"name": FATHER.name, "id_number": FATHER.id_number, "request_id": "t-1"}).encode()
    headers = _signed(settings, body, signing.Stamp.now())
    forged = body.replace(json.dumps(FATHER.name).encode(), json.dumps(MOTHER.name).encode())
    async with httpx.AsyncClient(timeout=5) as raw:
        response = await raw.post(settings.population_base_url + signing.VERIFY_PATH, content=forged, headers=headers)
    assert (response.status_code, response.json()["code"]) == (401, "SIGNATURE_INVALID")


async def test_id_number_never_logged_in_clear(sim: PopulationSim, population: PopulationClient,
                                               log_path: Path) -> None:
    person = by_key("wang-fang")
    assert await population.verify(person.name, person.id_number) is VerifyResult.MATCH
    await sim.fault("down")
    with pytest.raises(PopulationUnavailable):
        await population.verify(person.name, person.id_number)
    text = await asyncio.to_thread(log_path.read_text, encoding="utf-8")
    ours = [json.loads(line) for line in text.splitlines() if '"event":"population_' in line.replace(" ", "")]
    assert {line["event"] for line in ours} >= {"population_verified", "population_retry", "population_unavailable"}
    assert any(line.get("id_number") == mask_id_number(person.id_number) for line in ours)  # ends in X
    assert person.id_number not in text and person.name not in text
