"""Staff endpoints of cases: the task inbox (mobile-first), acting on a task, completing, the audit chain, and the
supervisors' overdue board.

Each request reads the staff account fresh (`staff_account()`, 403 STAFF_ONLY for a resident's token); the
scope check (accounts/scopes.py) answers 403 FORBIDDEN for another department's or region's case. Decisions are
taken on a task the caller has claimed; a claimed task can't be claimed again (409 TASK_CLAIMED_BY_OTHER).
"""

from __future__ import annotations

from accounts import errors as AE
from affairs import errors as AF
from affairs.case_inputs import (
    Accept,
    Complete,
    Decision,
    NotAccept,
    OpinionNote,
    SupplementRequest,
    Transfer,
)
from affairs.case_tasks import InboxFilter
from core import errors as E
from core.errors import AppError, FieldError
from mobile_api.base import BaseHandler
from mobile_api.handlers.cases import page_limit
from mobile_api.handlers.cases_models import BoardOut, CaseOut, ChainOut, InboxOut, TaskOut
from mobile_api.handlers.documents_models import DownloadOut
from mobile_api.openapi import operation
from mobile_api.routing import route
from storage import errors as SE

TAGS = ["办件审批（工作人员）"]
ACCESS = (AE.STAFF_ONLY, AE.ACCOUNT_DISABLED, E.FORBIDDEN)
TASK_ERRORS = (*ACCESS, AF.TASK_NOT_FOUND, AF.TASK_CLOSED, AF.TASK_NOT_CLAIMED, AF.CASE_STATE_CONFLICT)


class InboxHandler(BaseHandler):
    @operation(summary="我的待办（本部门、本辖区的任务）", tags=TAGS, response=InboxOut, auth=True,
               errors=(*ACCESS, AF.TASK_NOT_FOUND),
               query=(("filter", "all 全部 / new 待认领 / mine 我认领的 / due_soon 临近超期 / overdue 已超期"),
                      ("cursor", "翻页标记"), ("limit", "每页条数，1-50")),
               description="按到期时间先后排列，最急的在前。")
    async def get(self) -> None:
        account = await self.staff_account()
        raw = self.get_query_argument("filter", "all")
        if raw not in InboxFilter.__members__.values():
            raise AppError(E.VALIDATION_FAILED, errors=[FieldError("filter", "UNKNOWN_FILTER", "未知的筛选条件")])
        page = await self.deps.cases.inbox.page(account.actor(), InboxFilter(raw),
                                                cursor=self.get_query_argument("cursor", None),
                                                limit=page_limit(self))
        self.send_as(page, InboxOut)


class TaskHandler(BaseHandler):
    @operation(summary="任务详情", tags=TAGS, response=TaskOut, auth=True, errors=(*ACCESS, AF.TASK_NOT_FOUND))
    async def get(self, task_id: str) -> None:
        account = await self.staff_account()
        self.send(TaskOut.model_validate(await self.deps.cases.inbox.get(account.actor(), task_id)))


class TaskClaimHandler(BaseHandler):
    @operation(summary="认领任务", tags=TAGS, response=TaskOut, auth=True,
               errors=(*TASK_ERRORS, AF.TASK_CLAIMED_BY_OTHER),
               description="原子操作：同一任务只会被一人认领，后到者得到 409 和认领人。认领预审任务即开始预审。")
    async def post(self, task_id: str) -> None:
        account = await self.staff_account()
        self.send(TaskOut.model_validate(await self.deps.cases.inbox.claim(account, task_id)))


class TaskReleaseHandler(BaseHandler):
    @operation(summary="退回任务（放回待认领）", tags=TAGS, response=TaskOut, auth=True, errors=TASK_ERRORS)
    async def post(self, task_id: str) -> None:
        account = await self.staff_account()
        self.send(TaskOut.model_validate(await self.deps.cases.inbox.release(account, task_id)))


class TaskTransferHandler(BaseHandler):
    @operation(summary="转交给同部门同事", tags=TAGS, request=Transfer, response=TaskOut, auth=True,
               errors=(*TASK_ERRORS, E.VALIDATION_FAILED))
    async def post(self, task_id: str) -> None:
        account = await self.staff_account()
        body = self.parse(Transfer)
        self.send(TaskOut.model_validate(
            await self.deps.cases.inbox.transfer(account, task_id, body.to_staff_id, body.opinion)))


class TaskOpinionHandler(BaseHandler):
    @operation(summary="填写意见", tags=TAGS, request=OpinionNote, response=TaskOut, auth=True, errors=TASK_ERRORS)
    async def post(self, task_id: str) -> None:
        account = await self.staff_account()
        body = self.parse(OpinionNote)
        self.send(TaskOut.model_validate(await self.deps.cases.inbox.add_opinion(account, task_id, body.opinion)))


class CaseRender(BaseHandler):
    async def render_case(self, case_id: str) -> None:
        account = await self.staff_account()
        self.send(CaseOut.model_validate(await self.deps.cases.desk.get(account.actor(), case_id)))


class TaskSupplementHandler(CaseRender):
    @operation(summary="一次性告知补正", tags=TAGS, request=SupplementRequest, response=CaseOut, auth=True,
               errors=(*TASK_ERRORS, AF.SUPPLEMENT_ALREADY_NOTIFIED, E.VALIDATION_FAILED),
               description="一次列出全部问题（字段 form.字段名 或材料 materials.序号）。之后再次告知只能针对"
               "补正时新改动的内容，否则 409 SUPPLEMENT_ALREADY_NOTIFIED。告知后暂停计时。")
    async def post(self, task_id: str) -> None:
        account = await self.staff_account()
        case = await self.deps.cases.review.request_supplement(account, task_id, self.parse(SupplementRequest))
        await self.render_case(case["_id"])


class TaskAcceptHandler(CaseRender):
    @operation(summary="受理（含容缺受理）", tags=TAGS, request=Accept, response=CaseOut, auth=True,
               errors=TASK_ERRORS,
               description="生成受理编号；申请人承诺容缺的材料记录承诺和补交期限。受理后各联办部门同时收到审查任务。")
    async def post(self, task_id: str) -> None:
        account = await self.staff_account()
        case = await self.deps.cases.review.accept(account, task_id, self.parse(Accept))
        await self.render_case(case["_id"])


class TaskNotAcceptHandler(CaseRender):
    @operation(summary="不予受理", tags=TAGS, request=NotAccept, response=CaseOut, auth=True, errors=TASK_ERRORS)
    async def post(self, task_id: str) -> None:
        account = await self.staff_account()
        case = await self.deps.cases.review.not_accept(account, task_id, self.parse(NotAccept))
        await self.render_case(case["_id"])


class TaskDecisionHandler(CaseRender):
    @operation(summary="部门审查意见（同意 / 不同意）", tags=TAGS, request=Decision, response=CaseOut, auth=True,
               errors=TASK_ERRORS,
               description="各部门并联审查：全部同意则审批通过；任一部门不同意则不予许可，其他部门的任务随之取消。")
    async def post(self, task_id: str) -> None:
        account = await self.staff_account()
        case = await self.deps.cases.review.decide(account, task_id, self.parse(Decision))
        await self.render_case(case["_id"])


class StaffCaseHandler(CaseRender):
    @operation(summary="办件详情（含各部门任务和全程记录）", tags=TAGS, response=CaseOut, auth=True,
               errors=(*ACCESS, AF.CASE_NOT_FOUND))
    async def get(self, case_id: str) -> None:
        await self.render_case(case_id)


class CaseCompleteHandler(CaseRender):
    @operation(summary="办结（出具结果）", tags=TAGS, request=Complete, response=CaseOut, auth=True,
               errors=(*ACCESS, AF.CASE_NOT_FOUND, AF.CASE_STATE_CONFLICT, E.VALIDATION_FAILED),
               description="实施部门工作人员办结审批通过的办件。结果为电子证照时，证照即时发放到申请人名下。")
    async def post(self, case_id: str) -> None:
        account = await self.staff_account()
        await self.deps.cases.review.complete(account, case_id, self.parse(Complete))
        await self.render_case(case_id)


class CaseDocumentHandler(BaseHandler):
    @operation(summary="查看办件材料（60 秒有效的下载地址，留痕）", tags=TAGS, response=DownloadOut, auth=True,
               errors=(*ACCESS, AF.CASE_NOT_FOUND, SE.DOCUMENT_NOT_FOUND, SE.STORAGE_UNAVAILABLE),
               description="先检查本人能否查看该办件，再签发下载地址；每次下载都记入访问日志。照片为去除位置等信息的副本。")
    async def get(self, case_id: str, document_id: str) -> None:
        account = await self.staff_account()
        actor = account.actor()
        await self.deps.cases.desk.readable(actor, case_id)
        url = await self.deps.documents.staff_download_url(document_id, case_id, actor, request_id=self.request_id)
        self.send(DownloadOut(url=url))


class CaseChainHandler(BaseHandler):
    @operation(summary="校验办件的审计链", tags=TAGS, response=ChainOut, auth=True,
               errors=(*ACCESS, AF.CASE_NOT_FOUND),
               description="逐条重新计算哈希；被改动、删除或调换顺序的记录会报告第一处出错的位置。")
    async def get(self, case_id: str) -> None:
        account = await self.staff_account()
        self.send(ChainOut.model_validate(await self.deps.cases.desk.verify_chain(account.actor(), case_id)))


class BoardHandler(BaseHandler):
    @operation(summary="超期督办看板（按部门和区划）", tags=["电子监察"], response=BoardOut, auth=True,
               errors=ACCESS, description="电子监察人员看辖区内全部部门；工作人员看本部门。")
    async def get(self) -> None:
        account = await self.staff_account()
        cases = self.deps.cases
        self.send(BoardOut.model_validate(await cases.supervision.board(account.actor(), cases.now())))


ROUTES = [
    route("/api/v1/staff/tasks", InboxHandler),
    route("/api/v1/staff/tasks/{task_id}", TaskHandler),
    route("/api/v1/staff/tasks/{task_id}/claim", TaskClaimHandler),
    route("/api/v1/staff/tasks/{task_id}/release", TaskReleaseHandler),
    route("/api/v1/staff/tasks/{task_id}/transfer", TaskTransferHandler),
    route("/api/v1/staff/tasks/{task_id}/opinions", TaskOpinionHandler),
    route("/api/v1/staff/tasks/{task_id}/supplement", TaskSupplementHandler),
    route("/api/v1/staff/tasks/{task_id}/accept", TaskAcceptHandler),
    route("/api/v1/staff/tasks/{task_id}/not-accept", TaskNotAcceptHandler),
    route("/api/v1/staff/tasks/{task_id}/decision", TaskDecisionHandler),
    route("/api/v1/staff/cases/{case_id}", StaffCaseHandler),
    route("/api/v1/staff/cases/{case_id}/complete", CaseCompleteHandler),
    route("/api/v1/staff/cases/{case_id}/chain", CaseChainHandler),
    route("/api/v1/staff/cases/{case_id}/documents/{document_id}/download", CaseDocumentHandler),
    route("/api/v1/supervision/board", BoardHandler),
]
