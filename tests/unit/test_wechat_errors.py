"""WeChat errcodes map to exception types callers can tell apart; the raw errcode is never lost."""

import pytest

from wechat.errors import (
    Busy,
    CodeAlreadyUsed,
    HighRiskUser,
    InvalidAccessToken,
    InvalidCode,
    InvalidCredentials,
    InvalidOpenid,
    InvalidPage,
    InvalidTemplateData,
    InvalidTemplateId,
    NotFollower,
    OAuthStateError,
    QuotaExceeded,
    RateLimited,
    SubscriptionRefused,
    TransportError,
    WeChatError,
    error_for,
    is_transient,
)


@pytest.mark.parametrize(("errcode", "kind"), [
    (40029, InvalidCode), (40163, CodeAlreadyUsed), (45011, RateLimited), (40226, HighRiskUser), (-1, Busy),
    (40001, InvalidAccessToken), (42001, InvalidAccessToken), (40014, InvalidAccessToken),
    (40013, InvalidCredentials), (40125, InvalidCredentials),
    (40003, InvalidOpenid), (40037, InvalidTemplateId), (47003, InvalidTemplateData), (41030, InvalidPage),
    (43101, SubscriptionRefused), (43004, NotFollower), (45009, QuotaExceeded),
])
def test_known_errcodes(errcode: int, kind: type[WeChatError]) -> None:
    error = error_for(errcode, "msg, rid: 1-2-3")
    assert type(error) is kind and isinstance(error, WeChatError)
    assert (error.errcode, error.errmsg) == (errcode, "msg, rid: 1-2-3")
    assert str(errcode) in str(error)


def test_unknown_errcode_keeps_the_number() -> None:
    error = error_for(48001, "api unauthorized")
    assert type(error) is WeChatError and error.errcode == 48001


def test_transport_error_has_no_errcode() -> None:
    error = TransportError("timeout calling /sns/jscode2session", status=None)
    assert isinstance(error, WeChatError) and error.errcode is None and "timeout" in str(error)


def test_state_error_is_not_a_wechat_error() -> None:
    error = OAuthStateError("already_used")
    assert not isinstance(error, WeChatError) and error.reason == "already_used"


def test_transient_failures_are_told_apart_from_refusals() -> None:
    assert all(is_transient(error_for(code, "")) for code in (-1, 45011, 45009))
    assert is_transient(TransportError("HTTP 502", status=502))
    assert not any(is_transient(error_for(code, "")) for code in (43101, 43004, 40003, 40037, 47003, 41030, 40001))
