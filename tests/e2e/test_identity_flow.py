"""Identity end to end over HTTP: WeChat login, real-name binding, token refresh and logout."""

from __future__ import annotations

import secrets

import httpx
import pytest

from accounts.citizen_id import make_citizen_id
from config.settings import Settings
from config.wiring import Dependencies
from simulators.demo_people import by_key
from tests.support.identity import miniprogram_login, new_registered_person
from tests.support.population import PopulationSim
from tests.support.wechat import SimControl


async def test_miniprogram_login_bind_id_and_me(api: httpx.AsyncClient, wechat: SimControl,
                                                population: PopulationSim, deps: Dependencies) -> None:
    person = by_key("wang-fang")
    await deps.people.collection.delete_many({"name": person.name})  # the demo number may be bound by a rerun
    me = await miniprogram_login(api, wechat, unionid="u-" + secrets.token_hex(6))
    assert me.body["new_account"] is True and me.body["person"]["level"] == "L0"

    bound = await api.put("/api/v1/me/citizen-id", json={"name": person.name, "id_number": person.id_number.lower()},
                          headers=me.headers)
    assert bound.status_code == 200, bound.text
    assert bound.json()["level"] == "L2"
    masked = bound.json()["citizen_id"]["masked"]
    assert masked == person.id_number[:6] + "********" + person.id_number[-4:]

    profile = (await api.get("/api/v1/me", headers=me.headers)).json()
    assert profile["citizen_id"]["masked"] == masked and profile["name"] == person.name
    assert person.id_number not in str(profile)

    again = await api.put("/api/v1/me/citizen-id", json={"name": person.name, "id_number": person.id_number},
                          headers=me.headers)
    assert again.status_code == 200  # the same number again is the same answer (a retried request)


async def test_official_account_login_finds_the_same_person_by_unionid(
    api: httpx.AsyncClient, wechat: SimControl, settings: Settings
) -> None:
    unionid = "u-" + secrets.token_hex(6)
    first = await miniprogram_login(api, wechat, unionid=unionid)
    start = await api.post("/api/v1/auth/official-account/authorize",
                           json={"redirect_uri": f"{settings.base_url}/h5/login", "scope": "snsapi_userinfo"})
    assert start.status_code == 200, start.text
    callback = await wechat.authorize(start.json()["url"], sim_unionid=unionid)
    assert callback["state"] == start.json()["state"]
    second = await api.post("/api/v1/auth/official-account/login",
                            json={"code": callback["code"], "state": callback["state"]})
    assert second.status_code == 200, second.text
    assert second.json()["person"]["id"] == first.person_id
    assert second.json()["new_account"] is False
    assert second.json()["person"]["wechat_official_account"] is True

    replay = await api.post("/api/v1/auth/official-account/login",
                            json={"code": callback["code"], "state": callback["state"]})
    assert replay.json()["errcode"] == "OAUTH_STATE_INVALID"


async def test_authorize_refuses_foreign_redirects(api: httpx.AsyncClient) -> None:
    response = await api.post("/api/v1/auth/official-account/authorize",
                              json={"redirect_uri": "https://evil.example.com/steal"})
    assert response.status_code == 422 and response.json()["errcode"] == "OAUTH_REDIRECT_NOT_ALLOWED"


async def test_used_or_unknown_code_is_refused(api: httpx.AsyncClient, wechat: SimControl) -> None:
    code = (await wechat.code("miniprogram", openid="o" + secrets.token_hex(8)))["code"]
    assert (await api.post("/api/v1/auth/miniprogram/login", json={"code": code})).status_code == 200
    reused = await api.post("/api/v1/auth/miniprogram/login", json={"code": code})
    assert reused.status_code == 401 and reused.json()["errcode"] == "WECHAT_CODE_INVALID"
    high_risk_code = (await wechat.code("miniprogram", openid="o" + secrets.token_hex(8)))["code"]
    await wechat.fault("/sns/jscode2session", errcode=40226, times=1)
    risky = await api.post("/api/v1/auth/miniprogram/login", json={"code": high_risk_code})
    assert risky.status_code == 403 and risky.json()["errcode"] == "WECHAT_HIGH_RISK"


async def test_refresh_rotates_and_reuse_revokes_the_session(api: httpx.AsyncClient, wechat: SimControl) -> None:
    me = await miniprogram_login(api, wechat)
    first_refresh = me.body["refresh_token"]
    rotated = await api.post("/api/v1/auth/refresh", json={"refresh_token": first_refresh})
    assert rotated.status_code == 200
    assert rotated.json()["refresh_token"] != first_refresh
    new_headers = {"Authorization": f"Bearer {rotated.json()['access_token']}"}
    assert (await api.get("/api/v1/me", headers=new_headers)).status_code == 200

    stolen = await api.post("/api/v1/auth/refresh", json={"refresh_token": first_refresh})
    assert stolen.status_code == 401 and stolen.json()["errcode"] == "REFRESH_TOKEN_REUSED"
    # the whole family is gone: the legitimate newest tokens no longer work either
    newest = await api.post("/api/v1/auth/refresh", json={"refresh_token": rotated.json()["refresh_token"]})
    assert newest.json()["errcode"] == "SESSION_REVOKED"
    after = await api.get("/api/v1/me", headers=new_headers)
    assert after.status_code == 401 and after.json()["errcode"] == "SESSION_REVOKED"


async def test_sessions_logout_and_logout_everywhere(api: httpx.AsyncClient, wechat: SimControl) -> None:
    unionid = "u-" + secrets.token_hex(6)
    phone = await miniprogram_login(api, wechat, unionid=unionid, device="iPhone 15")
    tablet = await miniprogram_login(api, wechat, unionid=unionid, device="iPad")
    listed = (await api.get("/api/v1/me/sessions", headers=phone.headers)).json()["sessions"]
    assert sorted(s["device"] for s in listed) == ["iPad", "iPhone 15"]
    assert [s["current"] for s in listed if s["device"] == "iPhone 15"] == [True]

    assert (await api.post("/api/v1/auth/logout", headers=tablet.headers)).json() == {"ended_sessions": 1}
    assert (await api.get("/api/v1/me", headers=tablet.headers)).json()["errcode"] == "SESSION_REVOKED"
    assert (await api.get("/api/v1/me", headers=phone.headers)).status_code == 200

    third = await miniprogram_login(api, wechat, unionid=unionid, device="Android")
    ended = await api.post("/api/v1/auth/logout-everywhere", headers=phone.headers)
    assert ended.json() == {"ended_sessions": 2}
    for who in (phone, third):
        assert (await api.get("/api/v1/me", headers=who.headers)).status_code == 401


async def test_removing_another_persons_session_is_not_possible(api: httpx.AsyncClient, wechat: SimControl) -> None:
    alice = await miniprogram_login(api, wechat)
    bob = await miniprogram_login(api, wechat)
    bobs_session = (await api.get("/api/v1/me/sessions", headers=bob.headers)).json()["sessions"][0]["session_id"]
    response = await api.delete(f"/api/v1/me/sessions/{bobs_session}", headers=alice.headers)
    assert response.status_code == 404
    assert (await api.get("/api/v1/me", headers=bob.headers)).status_code == 200


@pytest.mark.parametrize(
    ("header", "errcode"),
    [
        (None, "UNAUTHORIZED"),
        ("Basic abc", "UNAUTHORIZED"),
        ("Bearer not.a.jwt", "TOKEN_INVALID"),
        ("Bearer eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiJ4In0.", "TOKEN_INVALID"),
    ],
)
async def test_bad_tokens_are_401(api: httpx.AsyncClient, header: str | None, errcode: str) -> None:
    response = await api.get("/api/v1/me", headers={"Authorization": header} if header else {})
    assert response.status_code == 401 and response.json()["errcode"] == errcode


def wrong_check_digit(number: str) -> str:
    return number[:-1] + ("0" if number[-1] != "0" else "1")


@pytest.mark.parametrize(
    ("number", "rule"),
    [
        (wrong_check_digit(make_citizen_id("430124", "19900307", 777)), "CITIZEN_ID_CHECKSUM"),
        (make_citizen_id("430124", "19900230", 777), "CITIZEN_ID_BIRTH_DATE"),
        (make_citizen_id("990101", "19900307", 777), "CITIZEN_ID_REGION"),
        ("4301241990030777", "CITIZEN_ID_FORMAT"),
    ],
)
async def test_invalid_numbers_say_which_rule_failed(api: httpx.AsyncClient, wechat: SimControl,
                                                     number: str, rule: str) -> None:
    me = await miniprogram_login(api, wechat)
    response = await api.put("/api/v1/me/citizen-id", json={"name": "张三", "id_number": number}, headers=me.headers)
    assert response.status_code == 422, response.text
    assert response.json()["errcode"] == "CITIZEN_ID_INVALID"
    assert response.json()["errors"][0]["errcode"] == rule
    assert response.json()["errors"][0]["field"] == "id_number"


async def test_a_number_binds_to_one_person_and_the_owner_is_told(
    api: httpx.AsyncClient, wechat: SimControl, population: PopulationSim, deps: Dependencies
) -> None:
    number = await new_registered_person(population, name="赵六")
    owner = await miniprogram_login(api, wechat)
    assert (await api.put("/api/v1/me/citizen-id", json={"name": "赵六", "id_number": number},
                          headers=owner.headers)).status_code == 200
    intruder = await miniprogram_login(api, wechat)
    taken = await api.put("/api/v1/me/citizen-id", json={"name": "赵六", "id_number": number},
                          headers=intruder.headers)
    assert taken.status_code == 409 and taken.json()["errcode"] == "CITIZEN_ID_TAKEN"
    events = await deps.binding.events.recent(owner.person_id)
    warning = next(e for e in events if e["type"] == "citizen_id_bind_attempt_by_other")
    assert warning["notify"] is True and warning["details"]["other_person_id"] == intruder.person_id
    assert number not in str(warning)


async def test_population_answers_mismatch_not_found_and_down(
    api: httpx.AsyncClient, wechat: SimControl, population: PopulationSim
) -> None:
    number = await new_registered_person(population, name="孙七")
    me = await miniprogram_login(api, wechat)

    async def bind(name: str, id_number: str) -> httpx.Response:
        return await api.put("/api/v1/me/citizen-id", json={"name": name, "id_number": id_number}, headers=me.headers)

    mismatch = await bind("孙八", number)
    assert mismatch.status_code == 422 and mismatch.json()["errcode"] == "CITIZEN_ID_NAME_MISMATCH"
    unknown = await bind("孙七", make_citizen_id("430124", "19800101", 123))
    assert unknown.status_code == 422 and unknown.json()["errcode"] == "CITIZEN_ID_NOT_FOUND"
    await population.fault("down", times=5)
    down = await bind("孙七", number)
    assert down.status_code == 503 and down.json()["errcode"] == "POPULATION_UNAVAILABLE"
    assert (await api.get("/api/v1/me", headers=me.headers)).json()["level"] == "L0"  # nothing half-bound


async def test_binding_attempts_are_limited(api: httpx.AsyncClient, wechat: SimControl,
                                            population: PopulationSim) -> None:
    me = await miniprogram_login(api, wechat)
    codes = []
    for sequence in range(6):
        number = make_citizen_id("430124", "19800101", 200 + sequence)
        response = await api.put("/api/v1/me/citizen-id", json={"name": "周九", "id_number": number},
                                 headers=me.headers)
        codes.append(response.json()["errcode"])
    assert codes[:5] == ["CITIZEN_ID_NOT_FOUND"] * 5
    assert codes[5] == "CITIZEN_ID_ATTEMPTS_EXCEEDED"
