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


class InvalidOpenid(WeChatError):
    """The openid is empty, malformed or not a user of this app (subscribe and template messages)."""

    errcodes = (40003,)


class InvalidTemplateId(WeChatError):
    """The template id is empty or not one of this app's templates: configuration, never retried."""

    errcodes = (40037,)


class InvalidTemplateData(WeChatError):
    """A data field is empty or breaks its kind's rule; WeChat's errmsg names the field (`data.thing1.value`)."""

    errcodes = (47003,)


class InvalidPage(WeChatError):
    """The subscribe message's `page` is not a page of the released mini-program."""

    errcodes = (41030,)


class SubscriptionRefused(WeChatError):
    """No grant left for this (person, template): never granted, refused, used up or cancelled (43101)."""

    errcodes = (43101,)


class NotFollower(WeChatError):
    """Template messages reach followers of the official account only (43004 `require subscribe`)."""

    errcodes = (43004,)


class QuotaExceeded(WeChatError):
    """The app's daily quota for this API is used up (45009): temporary, but not before tomorrow."""

    errcodes = (45009,)


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
    for cls in (InvalidCode, CodeAlreadyUsed, RateLimited, HighRiskUser, Busy, InvalidAccessToken, InvalidCredentials,
                InvalidOpenid, InvalidTemplateId, InvalidTemplateData, InvalidPage, SubscriptionRefused, NotFollower,
                QuotaExceeded)
    for code in cls.errcodes
}

# Failures where the same message may go through later (WeChat busy or unreachable, our token refresh stuck,
# throttled): a notification task retries these with backoff. Everything else is final for this message.
TRANSIENT: tuple[type[WeChatError], ...] = (Busy, TransportError, AccessTokenUnavailable, RateLimited, QuotaExceeded)


def is_transient(error: WeChatError) -> bool:
    """True when retrying the same call later may succeed; False for refusals about this person or message."""
    return isinstance(error, TRANSIENT)


def error_for(errcode: int, errmsg: str) -> WeChatError:
    """The exception for a WeChat error answer; unknown errcodes give the base type with the raw code."""
    return _BY_ERRCODE.get(errcode, WeChatError)(errcode, errmsg)
