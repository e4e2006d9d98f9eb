"""The signed-in person: profile, citizen-ID binding (实名认证), login sessions on their devices."""

from __future__ import annotations

from accounts import errors as AE
from core import errors as E
from core.errors import AppError
from mobile_api.base import BaseHandler
from mobile_api.handlers.accounts_models import CitizenIdIn, LoggedOutOut, PersonOut, SessionOut, SessionsOut
from mobile_api.openapi import operation

TAGS = ["我的"]


class MeHandler(BaseHandler):
    @operation(summary="我的账号信息（身份证号、手机号均脱敏）", tags=TAGS, response=PersonOut, auth=True,
               errors=(AE.RESIDENT_ONLY,))
    async def get(self) -> None:
        principal = await self.resident()
        person = await self.deps.people.get(principal.person_id)
        if person is None:
            raise AppError(AE.ACCOUNT_DISABLED)
        self.send(PersonOut.of(person))


class CitizenIdHandler(BaseHandler):
    @operation(
        summary="实名认证：绑定本人身份证号码（一号通办，只需一次）", tags=TAGS, request=CitizenIdIn, response=PersonOut,
        auth=True,
        errors=(AE.RESIDENT_ONLY, AE.CITIZEN_ID_INVALID, AE.CITIZEN_ID_TAKEN, AE.CITIZEN_ID_ALREADY_BOUND,
                AE.CITIZEN_ID_NAME_MISMATCH, AE.CITIZEN_ID_NOT_FOUND, AE.CITIZEN_ID_ATTEMPTS_EXCEEDED,
                AE.POPULATION_UNAVAILABLE),
        description="号码先按 GB 11643 校验（校验位、出生日期、行政区划代码），再与人口库核验姓名。"
        "同一号码只能绑定一个账号；重复提交同一号码返回当前结果。",
    )
    async def put(self) -> None:
        principal = await self.resident()
        body = self.parse(CitizenIdIn)
        person = await self.deps.people.get(principal.person_id)
        if person is None:
            raise AppError(AE.ACCOUNT_DISABLED)
        bound = await self.deps.binding.bind(person, name=body.name, raw_number=body.id_number)
        self.send(PersonOut.of(bound))


class SessionsHandler(BaseHandler):
    @operation(summary="我在哪些设备上登录着", tags=TAGS, response=SessionsOut, auth=True)
    async def get(self) -> None:
        principal = await self.principal()
        views = await self.deps.sessions.list_sessions(principal.person_id, current_session_id=principal.session_id)
        self.send(SessionsOut(sessions=[SessionOut.of(v) for v in views]))


class SessionHandler(BaseHandler):
    @operation(summary="让某台设备退出登录", tags=TAGS, response=LoggedOutOut, auth=True, errors=(E.NOT_FOUND,))
    async def delete(self, session_id: str) -> None:
        principal = await self.principal()
        ended = await self.deps.sessions.logout(session_id, person_id=principal.person_id)
        if not ended:
            raise AppError(E.NOT_FOUND, "没有找到该设备的登录")
        self.send(LoggedOutOut(ended_sessions=1))
