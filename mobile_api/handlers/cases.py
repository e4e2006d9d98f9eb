"""A resident's cases (我的办件): start from a matter, save, submit once, follow, withdraw, resubmit.

Other people's cases answer 404 RESOURCE_NOT_FOUND, exactly like a case that does not exist (accounts/scopes.py
policy). Submission takes an `Idempotency-Key`: the same key answers the same case again, whatever the network
did. Rules live in affairs.case_apply; this module only parses, calls and renders.
"""

from __future__ import annotations

from typing import Any

from accounts import errors as AE
from affairs import errors as AF
from affairs.case_inputs import DraftChange, StartCase, Withdraw
from affairs.case_states import CaseState
from affairs.case_views import case_view
from affairs.ecerts import public as ecert_public
from core import errors as E
from core.errors import AppError, FieldError
from mobile_api.base import BaseHandler
from mobile_api.handlers.cases_models import CaseListOut, CaseOut, EcertListOut, TimelineOut
from mobile_api.openapi import operation
from mobile_api.routing import route

TAGS = ["我的办件"]
OWN = (AE.RESIDENT_ONLY, AE.RESOURCE_NOT_FOUND)
STATE_ERRORS = (*OWN, AF.CASE_STATE_CONFLICT, AF.CASE_VERSION_CONFLICT)
IDEMPOTENCY_HEADER = ("Idempotency-Key", "建议每次提交生成一个（最长 128 字符）；网络重试时带同一个键，返回同一结果")


def page_limit(handler: BaseHandler, default: int = 20, most: int = 50) -> int:
    raw = handler.get_query_argument("limit", None)
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= most:
        raise AppError(E.VALIDATION_FAILED, errors=[FieldError("limit", "OUT_OF_RANGE", f"须为 1 到 {most} 的整数")])
    return int(raw)


class CaseHandlerBase(BaseHandler):
    def render(self, case: dict[str, Any], status: int = 200) -> None:
        cases = self.deps.cases
        self.send(CaseOut.model_validate(case_view(case, cases.calendar, cases.now(), for_staff=False)), status)


class CasesHandler(CaseHandlerBase):
    @operation(summary="开始申请（生成草稿，自动带出已知信息）", tags=TAGS, request=StartCase, response=CaseOut,
               status=201, auth=True,
               errors=(AE.RESIDENT_ONLY, AF.CITIZEN_ID_REQUIRED, AF.MATTER_NOT_FOUND, AF.MATTER_NOT_ONLINE),
               description="须先绑定身份证号（一号申请）。姓名、身份证号、手机号取自实名信息，不需填写；"
               "其他字段按最近一次申请同一事项时的填写预填。")
    async def post(self) -> None:
        principal = await self.resident()
        body = self.parse(StartCase)
        self.render(await self.deps.cases.apply.start(principal.person_id, body.matter_code), status=201)

    @operation(summary="我的办件", tags=TAGS, response=CaseListOut, auth=True, errors=(AE.RESIDENT_ONLY,),
               query=(("state", "按状态筛选，可用逗号分隔多个"), ("cursor", "翻页标记"), ("limit", "每页条数，1-50")))
    async def get(self) -> None:
        principal = await self.resident()
        raw_states = self.get_query_argument("state", None)
        states = [s for s in (raw_states or "").split(",") if s] or None
        if states and any(s not in CaseState.__members__.values() for s in states):
            raise AppError(E.VALIDATION_FAILED, errors=[FieldError("state", "UNKNOWN_STATE", "未知的办件状态")])
        cursor = self.get_query_argument("cursor", None)
        if cursor is not None and (len(cursor) != 26 or not cursor.isalnum()):
            raise AppError(E.VALIDATION_FAILED, errors=[FieldError("cursor", "CURSOR_INVALID", "翻页标记无效")])
        page = await self.deps.cases.mine(principal.person_id, before=cursor, limit=page_limit(self),
                                          states=states)
        self.send(CaseListOut.model_validate(page))


class CaseHandler(CaseHandlerBase):
    @operation(summary="办件详情（含时限、补正告知、结果）", tags=TAGS, response=CaseOut, auth=True, errors=OWN)
    async def get(self, case_id: str) -> None:
        principal = await self.resident()
        self.render(await self.deps.cases.apply.own(principal.person_id, case_id))

    @operation(summary="保存草稿", tags=TAGS, request=DraftChange, response=CaseOut, auth=True,
               errors=(*STATE_ERRORS, E.VALIDATION_FAILED),
               description="草稿可以不完整；材料引用（文件、电子证照、容缺承诺）此时就会检查。"
               "脱敏显示的身份证号、手机号原样带回表示不修改。")
    async def put(self, case_id: str) -> None:
        principal = await self.resident()
        self.render(await self.deps.cases.apply.save(principal.person_id, case_id, self.parse(DraftChange)))


class CaseSubmitHandler(CaseHandlerBase):
    @operation(summary="提交申请", tags=TAGS, request=DraftChange, response=CaseOut, auth=True,
               headers=(IDEMPOTENCY_HEADER,),
               errors=(*STATE_ERRORS, E.VALIDATION_FAILED, AF.CITIZEN_ID_REQUIRED, E.IDEMPOTENCY_KEY_REUSED,
                       E.IDEMPOTENCY_IN_PROGRESS),
               description="可同时带上最后的表单和材料。表单按事项的表单定义校验，每个有误的字段和缺少的材料"
               "都在 422 的 errors 中一次列出。提交后开始计算承诺时限。")
    async def post(self, case_id: str) -> None:
        principal = await self.resident()
        key = self.request.headers.get("Idempotency-Key") or None
        if key is not None and len(key) > 128:
            raise AppError(E.VALIDATION_FAILED, errors=[FieldError("Idempotency-Key", "TOO_LONG", "幂等键最长 128 个字符")])
        change = self.parse(DraftChange) if self.body else DraftChange()
        self.render(await self.deps.cases.apply.submit(principal.person_id, case_id, change,
                                                       idempotency_key=key, body=self.body))


class CaseWithdrawHandler(CaseHandlerBase):
    @operation(summary="撤回申请（作出决定前）", tags=TAGS, request=Withdraw, response=CaseOut, auth=True,
               errors=STATE_ERRORS)
    async def post(self, case_id: str) -> None:
        principal = await self.resident()
        self.render(await self.deps.cases.apply.withdraw(principal.person_id, case_id, self.parse(Withdraw)))


class CaseResubmitHandler(CaseHandlerBase):
    @operation(summary="提交补正", tags=TAGS, request=DraftChange, response=CaseOut, auth=True,
               errors=(*STATE_ERRORS, E.VALIDATION_FAILED),
               description="按补正告知修改后提交完整的表单和材料；计时从此恢复。")
    async def post(self, case_id: str) -> None:
        principal = await self.resident()
        self.render(await self.deps.cases.apply.resubmit(principal.person_id, case_id, self.parse(DraftChange)))


class CaseTimelineHandler(BaseHandler):
    @operation(summary="办理进度（全程记录）", tags=TAGS, response=TimelineOut, auth=True, errors=OWN)
    async def get(self, case_id: str) -> None:
        principal = await self.resident()
        self.send(TimelineOut.model_validate({"items": await self.deps.cases.timeline(principal.person_id, case_id)}))


class MyEcertsHandler(BaseHandler):
    @operation(summary="我的电子证照（申请时可免提交）", tags=TAGS, response=EcertListOut, auth=True,
               errors=(AE.RESIDENT_ONLY,), query=(("type", "证照类型编码"),))
    async def get(self) -> None:
        principal = await self.resident()
        cert_type = self.get_query_argument("type", None)
        held = await self.deps.cases.ecerts.held_by(principal.person_id, [cert_type] if cert_type else None)
        self.send(EcertListOut.model_validate({"items": [ecert_public(c) for c in held]}))


ROUTES = [
    route("/api/v1/cases", CasesHandler),
    route("/api/v1/cases/{case_id}", CaseHandler),
    route("/api/v1/cases/{case_id}/submit", CaseSubmitHandler),
    route("/api/v1/cases/{case_id}/withdraw", CaseWithdrawHandler),
    route("/api/v1/cases/{case_id}/resubmit", CaseResubmitHandler),
    route("/api/v1/cases/{case_id}/timeline", CaseTimelineHandler),
    route("/api/v1/me/ecerts", MyEcertsHandler),
]
