"""The Alipay simulator's alipay.system.oauth.token rules (simulators/alipay_oauth.py), without HTTP: codes are
single-use, short-lived and per app; grant types and refresh tokens; open ids per app in Alipay's shape."""

from __future__ import annotations

import re

import pytest

from simulators.alipay_errors import AlipayError
from simulators.alipay_oauth import AlipayOAuth, open_id_of

APP = "2021000000000001"


def exchange(oauth: AlipayOAuth, **params: str) -> dict[str, object]:
    return oauth.token({"app_id": APP, "grant_type": "authorization_code", **params})


def refusal(oauth: AlipayOAuth, **params: str) -> tuple[str, str]:
    with pytest.raises(AlipayError) as caught:
        oauth.token({"app_id": APP, **params})
    return caught.value.code, caught.value.sub_code


def test_a_code_is_exchanged_once_for_the_users_open_id() -> None:
    oauth = AlipayOAuth(APP)
    code, user = oauth.mint()
    answer = exchange(oauth, code=code)
    assert answer["open_id"] == user.open_id and "user_id" not in answer
    assert (answer["expires_in"], answer["re_expires_in"]) == (1_296_000, 2_592_000) and answer["access_token"]
    assert refusal(oauth, grant_type="authorization_code", code=code) == ("40002", "isv.code-invalid")
    assert refusal(oauth, grant_type="authorization_code") == ("40002", "isv.code-invalid")
    refreshed = oauth.token({"app_id": APP, "grant_type": "refresh_token", "refresh_token": str(answer["refresh_token"])})
    assert refreshed["open_id"] == user.open_id
    assert refusal(oauth, grant_type="refresh_token", refresh_token="authusrBnope") == (
        "40002", "isv.refresh-token-invalid")
    assert refusal(oauth, grant_type="client_credential", code=code) == ("40002", "isv.grant-type-invalid")


def test_codes_expire_and_belong_to_one_app() -> None:
    oauth = AlipayOAuth(APP)
    oauth.configure(code_ttl_s=0)
    expired, _ = oauth.mint()
    assert refusal(oauth, grant_type="authorization_code", code=expired)[1] == "isv.code-invalid"
    oauth.configure(code_ttl_s=180)
    foreign, _ = oauth.mint(app_id="2021000000009999")
    assert refusal(oauth, grant_type="authorization_code", code=foreign)[1] == "isv.code-invalid"
    assert oauth.stats()["oauth"] == {"auth_codes_minted": 2, "codes_refused": 2}


def test_ids_of_a_user_and_an_older_app_on_user_ids() -> None:
    oauth = AlipayOAuth(APP)
    code, user = oauth.mint("2088000000000042")
    assert oauth.user("2088000000000042") is user and user.open_id == open_id_of(APP, "2088000000000042")
    assert re.fullmatch(r"0[0-9A-Za-z]{46}", user.open_id)
    assert open_id_of("2021000000009999", user.user_id) != user.open_id  # per app
    oauth.configure(id_type="user_id")
    answer = exchange(oauth, code=code)
    assert answer["user_id"] == "2088000000000042" and "open_id" not in answer
    with pytest.raises(ValueError, match="2088"):
        oauth.user("1234")
    with pytest.raises(ValueError, match="oauth_id_type"):
        oauth.configure(id_type="union_id")
    oauth.reset()
    assert (oauth.id_type, oauth.code_ttl_s, oauth.users) == ("open_id", 180, {})
