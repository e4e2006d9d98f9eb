"""Exceptions of the WeChat adapter, one type per errcode that callers must treat differently.

WeChat answers HTTP 200 with `{"errcode", "errmsg"}` for every failure; `error_for` turns that into the right
subclass so callers write `except CodeAlreadyUsed` instead of comparing numbers. The raw errcode (and errmsg,
which carries WeChat's `rid` for support tickets) stays on every exception.
"""

from __future__ import annotations

from typing import ClassVar


class WeChatError(Exception):
    """WeChat refused the call. `errcode` is WeChat's number; None when WeChat never answered."""

    errcodes: ClassVar[tuple[int, ...]] = ()

    def __init__(self, errcode: int | None, errmsg: str = "") -> None:
        super().__init__(f"wechat errcode {errcode}: {errmsg}" if errcode is not None else errmsg)
        self.errcode = errcode
        self.errmsg = errmsg


class InvalidCode(WeChatError):
    """The login/OAuth code is unknown, expired or belongs to another app: ask the client for a new one."""

    errcodes = (40029,)


class CodeAlreadyUsed(WeChatError):
    """The code was exchanged before (codes are single-use): a replay or a client retry."""

    errcodes = (40163,)


class RateLimited(WeChatError):
    """Too many calls (per person per minute for code2session): do not retry at once."""

    errcodes = (45011,)


class HighRiskUser(WeChatError):
    """WeChat flags the person as high risk: login must be refused, never retried."""

    errcodes = (40226,)


class Busy(WeChatError):
    """WeChat's 'system busy': the one errcode worth a single quick retry."""

    errcodes = (-1,)


class InvalidAccessToken(WeChatError):
    """The access token is invalid (40001, 40014: refreshed elsewhere or revoked) or expired (42001)."""

    errcodes = (40001, 40014, 42001)


class InvalidCredentials(WeChatError):
    """Our appid or secret is wrong (configuration, not the person): 40013 appid, 40125 secret."""

    errcodes = (40013, 40125)


class TransportError(WeChatError):
    """No usable answer: connection refused, timeout, non-200 status or a body that is not JSON."""

    def __init__(self, errmsg: str, *, status: int | None = None) -> None:
        super().__init__(None, errmsg)
        self.status = status


class AccessTokenUnavailable(WeChatError):
    """Another worker holds the refresh lock and no fresh token appeared within the bounded wait."""

    def __init__(self, errmsg: str) -> None:
        super().__init__(None, errmsg)


class OAuthStateError(Exception):
    """The OAuth `state` is unknown, expired or already used: refused before WeChat is called (CSRF/replay).

    Not a WeChatError on purpose: WeChat was never asked. `reason` is `unknown_or_expired`, `already_used` or
    `binding_mismatch`.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"oauth state refused: {reason}")
        self.reason = reason


_BY_ERRCODE: dict[int, type[WeChatError]] = {
    code: cls
    for cls in (InvalidCode, CodeAlreadyUsed, RateLimited, HighRiskUser, Busy, InvalidAccessToken, InvalidCredentials)
    for code in cls.errcodes
}


def error_for(errcode: int, errmsg: str) -> WeChatError:
    """The exception for a WeChat error answer; unknown errcodes give the base type with the raw code."""
    return _BY_ERRCODE.get(errcode, WeChatError)(errcode, errmsg)
