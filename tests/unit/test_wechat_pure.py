"""Pure pieces of the WeChat adapter: URL building, log redaction, cache TTL, retry policy, session repr."""

from __future__ import annotations

import io
import logging
from urllib.parse import parse_qsl, urlsplit

import pytest

from wechat.access_token import cache_ttl
from wechat.errors import Busy, HighRiskUser, InvalidCode, RateLimited, TransportError, WeChatError
from wechat.http import install_log_redaction, redact_query, retry_once_if_transient
from wechat.miniprogram import Session
from wechat.oauth import build_authorize_url


def test_authorize_url_has_wechats_parameter_order_and_fragment() -> None:
    url = build_authorize_url("https://open.weixin.qq.com/", "wx123", "https://zsb.gov.cn/cb?a=1&b=二",
                              "snsapi_userinfo", "abc123")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path, parts.fragment) == (
        "https", "open.weixin.qq.com", "/connect/oauth2/authorize", "wechat_redirect")
    assert parse_qsl(parts.query) == [("appid", "wx123"), ("redirect_uri", "https://zsb.gov.cn/cb?a=1&b=二"),
                                      ("response_type", "code"), ("scope", "snsapi_userinfo"), ("state", "abc123")]
    assert "redirect_uri=https%3A%2F%2Fzsb.gov.cn%2Fcb%3Fa%3D1%26b%3D" in url  # fully encoded, slashes too


def test_redact_query_hides_credentials_only() -> None:
    line = "GET /sns/jscode2session?appid=wx1&secret=s3&js_code=c0&grant_type=authorization_code"
    assert redact_query(line) == (
        "GET /sns/jscode2session?appid=wx1&secret=***&js_code=***&grant_type=authorization_code")
    assert redact_query("/cgi-bin/x?access_token=T&openid=o1") == "/cgi-bin/x?access_token=***&openid=o1"
    assert redact_query("/sns/oauth2/access_token?code=abc&refresh_token=r") == (
        "/sns/oauth2/access_token?code=***&refresh_token=***")
    assert redact_query("?grant_type=authorization_code") == "?grant_type=authorization_code"


def test_httpx_log_records_are_redacted() -> None:
    install_log_redaction()
    install_log_redaction()  # idempotent
    logger = logging.getLogger("httpx")
    assert len([f for f in logger.filters if type(f).__name__ == "_RedactQueryFilter"]) == 1
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    try:
        logger.warning('HTTP Request: %s %s "%s"', "GET", "http://h/sns/jscode2session?secret=S&js_code=J", 200)
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue().strip() == 'HTTP Request: GET http://h/sns/jscode2session?secret=***&js_code=*** "200"'


@pytest.mark.parametrize(("expires_in", "ttl"), [(7200, 6900), (600, 300), (60, 30), (1, 1)])
def test_cache_ttl(expires_in: int, ttl: int) -> None:
    assert cache_ttl(expires_in) == ttl


def test_session_repr_hides_session_key() -> None:
    session = Session(openid="o1", session_key="SECRET-KEY", unionid=None)
    assert "SECRET-KEY" not in repr(session) and "o1" in repr(session)


class Flaky:
    def __init__(self, *outcomes: BaseException | str) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


@pytest.mark.parametrize("first", [Busy(-1, "system error"), TransportError("timeout")])
async def test_transient_failure_is_retried_once(first: WeChatError) -> None:
    call = Flaky(first, "ok")
    assert await retry_once_if_transient(call, what="t", backoff_s=0) == "ok"
    assert call.calls == 2


async def test_at_most_two_attempts() -> None:
    call = Flaky(Busy(-1, "a"), Busy(-1, "b"), "never reached")
    with pytest.raises(Busy) as caught:
        await retry_once_if_transient(call, what="t", backoff_s=0)
    assert caught.value.errmsg == "b" and call.calls == 2


@pytest.mark.parametrize("final", [InvalidCode(40029, ""), RateLimited(45011, ""), HighRiskUser(40226, "")])
async def test_final_errors_are_not_retried(final: WeChatError) -> None:
    call = Flaky(final, "ok")
    with pytest.raises(type(final)):
        await retry_once_if_transient(call, what="t", backoff_s=0)
    assert call.calls == 1
