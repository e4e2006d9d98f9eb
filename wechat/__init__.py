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
    is_transient,
)
from wechat.miniprogram import MiniProgram, Session
from wechat.oauth import AuthorizeRequest, OAuthResult, OfficialAccountOAuth, UserInfo
from wechat.official_account import OfficialAccount
from wechat.subscribe import SubscribeMessages

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
    "InvalidOpenid",
    "InvalidPage",
    "InvalidTemplateData",
    "InvalidTemplateId",
    "NotFollower",
    "MiniProgram",
    "OAuthResult",
    "OAuthStateError",
    "OfficialAccount",
    "OfficialAccountOAuth",
    "QuotaExceeded",
    "RateLimited",
    "Session",
    "SubscribeMessages",
    "SubscriptionRefused",
    "TransportError",
    "UserInfo",
    "WeChatClients",
    "WeChatError",
    "is_transient",
]
