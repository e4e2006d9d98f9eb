"""Login endpoints: mini-program code, official-account OAuth, refresh, logout."""

from __future__ import annotations

from urllib.parse import urlsplit

from accounts import errors as AE
from core.errors import AppError
from mobile_api.base import BaseHandler
from mobile_api.handlers.accounts_models import (
    LoggedOutOut,
    MiniProgramLoginIn,
    OfficialAccountAuthorizeIn,
    OfficialAccountAuthorizeOut,
    OfficialAccountLoginIn,
    RefreshIn,
    TokenOut,
)
from mobile_api.openapi import operation

TAGS = ["登录"]
LOGIN_ERRORS = (AE.WECHAT_CODE_INVALID, AE.WECHAT_HIGH_RISK, AE.RATE_LIMITED_WECHAT, AE.WECHAT_UNAVAILABLE,
                AE.ACCOUNT_DISABLED)


class MiniProgramLoginHandler(BaseHandler):
    @operation(
        summary="小程序登录：用 wx.login() 的 code 换取登录凭证", tags=TAGS, request=MiniProgramLoginIn,
        response=TokenOut, errors=LOGIN_ERRORS,
        description="首次登录自动建号；同一 unionid 的公众号与小程序登录为同一账号。",
    )
    async def post(self) -> None:
        body = self.parse(MiniProgramLoginIn)
        result = await self.deps.identity.login_miniprogram(body.code, device=self.device, ip=self.request.remote_ip)
        self.send(TokenOut.of(result))


class OfficialAccountAuthorizeHandler(BaseHandler):
    @operation(
        summary="公众号网页授权：取得跳转地址（含防 CSRF 的 state）", tags=TAGS, request=OfficialAccountAuthorizeIn,
        response=OfficialAccountAuthorizeOut, errors=(AE.OAUTH_REDIRECT_NOT_ALLOWED,),
    )
    async def post(self) -> None:
        body = self.parse(OfficialAccountAuthorizeIn)
        allowed = urlsplit(self.deps.settings.base_url)
        target = urlsplit(body.redirect_uri)
        if (target.scheme, target.netloc) != (allowed.scheme, allowed.netloc):
            raise AppError(AE.OAUTH_REDIRECT_NOT_ALLOWED)  # no open redirect through our app id
        url, state = await self.deps.identity.official_account_authorize(body.redirect_uri, body.scope)
        self.send(OfficialAccountAuthorizeOut(url=url, state=state))


class OfficialAccountLoginHandler(BaseHandler):
    @operation(
        summary="公众号网页授权登录：用回跳带回的 code 与 state 换取登录凭证", tags=TAGS,
        request=OfficialAccountLoginIn, response=TokenOut, errors=(*LOGIN_ERRORS, AE.OAUTH_STATE_INVALID),
    )
    async def post(self) -> None:
        body = self.parse(OfficialAccountLoginIn)
        result = await self.deps.identity.login_official_account(
            body.code, body.state, device=self.device, ip=self.request.remote_ip
        )
        self.send(TokenOut.of(result))


class RefreshHandler(BaseHandler):
    @operation(
        summary="换新登录凭证（refresh_token 每次轮换，旧的立即作废）", tags=TAGS, request=RefreshIn, response=TokenOut,
        errors=(AE.TOKEN_INVALID, AE.TOKEN_EXPIRED, AE.SESSION_REVOKED, AE.REFRESH_TOKEN_REUSED, AE.ACCOUNT_DISABLED),
        description="重复使用已轮换过的 refresh_token 视为被盗用：该设备的登录全部作废，需重新登录。",
    )
    async def post(self) -> None:
        body = self.parse(RefreshIn)
        self.send(TokenOut.of(await self.deps.identity.refresh(body.refresh_token)))


class LogoutHandler(BaseHandler):
    allowed_before_password_change = frozenset({"POST"})  # ending one's own session grants nothing

    @operation(summary="退出本设备的登录", tags=TAGS, response=LoggedOutOut, auth=True)
    async def post(self) -> None:
        principal = await self.principal()
        ended = await self.deps.sessions.logout(principal.session_id, person_id=principal.person_id)
        self.send(LoggedOutOut(ended_sessions=int(ended)))


class LogoutEverywhereHandler(BaseHandler):
    allowed_before_password_change = frozenset({"POST"})

    @operation(summary="退出所有设备的登录", tags=TAGS, response=LoggedOutOut, auth=True)
    async def post(self) -> None:
        principal = await self.principal()
        self.send(LoggedOutOut(ended_sessions=await self.deps.sessions.logout_everywhere(principal.person_id)))
