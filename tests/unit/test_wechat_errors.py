"""WeChat errcodes map to exception types callers can tell apart; the raw errcode is never lost."""

import pytest

from wechat.errors import (
    Busy,
    CodeAlreadyUsed,
    HighRiskUser,
    InvalidAccessToken,
    InvalidCode,
    InvalidCredentials,
    OAuthStateError,
    RateLimited,
    TransportError,
    WeChatError,
    error_for,
)


@pytest.mark.parametrize(("errcode", "kind"), [
    (40029, InvalidCode), (40163, CodeAlreadyUsed), (45011, RateLimited), (40226, HighRiskUser), (-1, Busy),
    (40001, InvalidAccessToken), (42001, InvalidAccessToken), (40014, InvalidAccessToken),
    (40013, InvalidCredentials), (40125, InvalidCredentials),
])
def test_known_errcodes(errcode: int, kind: type[WeChatError]) -> None:
    error = error_for(errcode, "msg, rid: 1-2-3")
    assert type(error) is kind and isinstance(error, WeChatError)
    assert (error.errcode, error.errmsg) == (errcode, "msg, rid: 1-2-3")
    assert str(errcode) in str(error)


def test_unknown_errcode_keeps_the_number() -> None:
    error = error_for(47003, "argument invalid! data.thing1.value")
    assert type(error) is WeChatError and error.errcode == 47003


def test_transport_error_has_no_errcode() -> None:
    error = TransportError("timeout calling /sns/jscode2session", status=None)
    assert isinstance(error, WeChatError) and error.errcode is None and "timeout" in str(error)


def test_state_error_is_not_a_wechat_error() -> None:
    error = OAuthStateError("already_used")
    assert not isinstance(error, WeChatError) and error.reason == "already_used"
