"""A parent's endpoints: link a child (精准关联), list my children, a child's bills, one bill, unlink.

Residents only (a staff token gets 403 RESIDENT_ONLY). Someone else's child or bill is 404 RESOURCE_NOT_FOUND,
exactly like one that does not exist (accounts/scopes.py), so ids reveal nothing.
"""

from __future__ import annotations

from accounts import errors as AE
from accounts.identity import Principal
from accounts.scopes import Action, Actor
from mobile_api.base import BaseHandler
from mobile_api.handlers.school_models import BillOut, BillsOut, ChildOut, ChildrenOut, LinkIn
from mobile_api.openapi import operation
from mobile_api.routing import route
from payments import fee_errors as FE

TAGS = ["学校收费（家长）"]


def person_actor(principal: Principal) -> Actor:
    return Actor(roles=frozenset(principal.roles), person_id=principal.person_id)


class ChildrenHandler(BaseHandler):
    @operation(
        summary="关联孩子（精准关联）", tags=TAGS, request=LinkIn, response=ChildOut, status=201, auth=True,
        errors=(AE.RESIDENT_ONLY, AE.CITIZEN_ID_INVALID, FE.GUARDIAN_LINK_NOT_MATCHED, FE.GUARDIANS_FULL,
                FE.GUARDIAN_LINK_ATTEMPTS_EXCEEDED),
        description="填写孩子的姓名和身份证号（与学校花名册一致），并满足其一：本人已验证的手机号是学校登记的监护人"
        "手机号；或填写学校发放的一次性关联码。任何一项不符都只返回同一个 422（不提示是哪一项）。每人每天最多尝试 "
        "10 次。每个孩子最多关联两位家长。重复关联同一孩子返回当前结果。关联后即可看到孩子的全部账单（包括关联前已"
        "生成的）。",
    )
    async def post(self) -> None:
        principal = await self.resident()
        body = self.parse(LinkIn)
        student = await self.deps.school_fees.guardians.link(principal.person_id, name=body.name,
                                                             id_number=body.id_number, code=body.code)
        school = await self.deps.school_fees.schools.load(student["school_id"])
        self.send(ChildOut.of(student, principal.person_id, school["name"]), status=201)

    @operation(summary="我关联的孩子", tags=TAGS, response=ChildrenOut, auth=True, errors=(AE.RESIDENT_ONLY,))
    async def get(self) -> None:
        principal = await self.resident()
        fees = self.deps.school_fees
        children = await fees.guardians.children(principal.person_id)
        names: dict[str, str] = {}
        for school_id in {c["school_id"] for c in children}:
            school = await fees.schools.schools.get(school_id)
            names[school_id] = school["name"] if school else ""
        self.send(ChildrenOut(items=[ChildOut.of(c, principal.person_id, names[c["school_id"]]) for c in children]))


class ChildHandler(BaseHandler):
    @operation(summary="解除与孩子的关联", tags=TAGS, status=204, auth=True,
               errors=(AE.RESIDENT_ONLY, AE.RESOURCE_NOT_FOUND),
               description="只解除本人的关联；另一位家长不受影响。解除后不再能看到该孩子的账单。")
    async def delete(self, student_id: str) -> None:
        principal = await self.resident()
        await self.deps.school_fees.guardians.unlink(principal.person_id, student_id)
        self.set_status(204)
        self.finish()


class ChildBillsHandler(BaseHandler):
    @operation(summary="孩子的账单", tags=TAGS, response=BillsOut, auth=True,
               errors=(AE.RESIDENT_ONLY, AE.RESOURCE_NOT_FOUND),
               description="只有已关联的家长可以查看；其他孩子返回 404，与不存在的孩子相同。")
    async def get(self, student_id: str) -> None:
        principal = await self.resident()
        bills = await self.deps.school_fees.guardians.child_bills(person_actor(principal), student_id)
        self.send(BillsOut(items=[BillOut.of(b) for b in bills]))


class MyBillHandler(BaseHandler):
    @operation(summary="查看一张账单", tags=TAGS, response=BillOut, auth=True,
               errors=(AE.RESIDENT_ONLY, AE.RESOURCE_NOT_FOUND),
               description="只有该学生已关联的家长可以查看；其他账单返回 404，与不存在的账单相同。")
    async def get(self, bill_id: str) -> None:
        principal = await self.resident()
        bill = await self.deps.school_fees.bills.for_payer(person_actor(principal), bill_id, Action.READ)
        self.send(BillOut.of(bill))


ROUTES = [
    route("/api/v1/me/children", ChildrenHandler),
    route("/api/v1/me/children/{student_id}", ChildHandler),
    route("/api/v1/me/children/{student_id}/bills", ChildBillsHandler),
    route("/api/v1/me/bills/{bill_id}", MyBillHandler),
]
