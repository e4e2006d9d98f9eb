"""The one adapter for WeChat HTTP APIs (code2session, access token, OAuth, subscribe/template messages) and
official-account message crypto. Nothing else talks to WeChat.

Start from `WeChatClients.from_settings(settings, redis)`; failures are the types in `wechat.errors`.
"""

from wechat.access_token import AccessTokenManager
from wechat.client import WeChatClients
from wechat.errors import (
    AccessTokenUnavailable,
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
)
from wechat.miniprogram import MiniProgram, Session
from wechat.oauth import AuthorizeRequest, OAuthResult, OfficialAccountOAuth, UserInfo

__all__ = [
    "AccessTokenManager",
    "AccessTokenUnavailable",
    "AuthorizeRequest",
    "Busy",
    "CodeAlreadyUsed",
    "HighRiskUser",
    "InvalidAccessToken",
    "InvalidCode",
    "InvalidCredentials",
    "MiniProgram",
    "OAuthResult",
    "OAuthStateError",
    "OfficialAccountOAuth",
    "RateLimited",
    "Session",
    "TransportError",
    "UserInfo",
    "WeChatClients",
    "WeChatError",
]
