"""The notification centre (消息中心) of residents and of staff, channel preferences and subscribe-message grants.

Residents use `/api/v1/me/…`, staff the same under `/api/v1/staff/…` with their staff session: one set of
handlers, told apart by `recipient()`. A staff token on a resident's path gets 403 RESIDENT_ONLY and vice versa,
so a staff account id is never read as a person id.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from accounts import errors as AE
from core.validation import validate
from mobile_api.base import BaseHandler
from mobile_api.handlers.notifications_models import (
    GrantOut,
    GrantsIn,
    GrantsOut,
    InboxQuery,
    MarkedReadOut,
    NotificationOut,
    NotificationPageOut,
    PreferencesBody,
    UnreadCountOut,
)
from mobile_api.openapi import operation
from mobile_api.routing import route
from notifications import errors as NE

TAGS = ["消息中心"]
RESIDENT = (AE.RESIDENT_ONLY,)
STAFF = (AE.STAFF_ONLY, AE.ACCOUNT_DISABLED, AE.PASSWORD_CHANGE_REQUIRED)


class _Recipient(BaseHandler):
    staff = False

    async def recipient(self) -> tuple[str, str]:
        if self.staff:
            return "staff", (await self.staff_account()).id
        return "person", (await self.resident()).person_id


class InboxHandler(_Recipient):
    @operation(summary="我的消息（最新在前）", tags=TAGS, response=NotificationPageOut, auth=True, errors=RESIDENT,
               query=(("cursor", "上一页返回的 next_cursor"), ("limit", "每页条数，1–50，默认 20"),
                      ("unread", "true：只看未读")),
               description="每条通知都会进入消息中心，无论是否通过微信或短信送达（未授权订阅、没有手机号时也能在这里看到）。")
    async def get(self) -> None:
        kind, rid = await self.recipient()
        raw: dict[str, Any] = {name: value for name in ("cursor", "limit", "unread")
                               if (value := self.get_query_argument(name, None)) not in (None, "")}
        query = validate(InboxQuery, raw)
        centre = self.deps.notifications
        page = await centre.page(kind, rid, cursor=query.cursor, limit=query.limit, unread_only=query.unread)
        self.send(NotificationPageOut(items=[NotificationOut.of(d) for d in page.items], next_cursor=page.next_cursor,
                                      unread_count=await centre.unread(kind, rid)))


class UnreadCountHandler(_Recipient):
    @operation(summary="未读消息数（角标）", tags=TAGS, response=UnreadCountOut, auth=True, errors=RESIDENT)
    async def get(self) -> None:
        kind, rid = await self.recipient()
        self.send(UnreadCountOut(unread_count=await self.deps.notifications.unread(kind, rid)))


class MarkReadHandler(_Recipient):
    @operation(summary="标记一条消息为已读", tags=TAGS, response=MarkedReadOut, auth=True,
               errors=(*RESIDENT, NE.NOTIFICATION_NOT_FOUND), description="重复标记返回 marked = 0（幂等）。")
    async def post(self, notification_id: str) -> None:
        kind, rid = await self.recipient()
        centre = self.deps.notifications
        marked = await centre.mark_read(kind, rid, notification_id)
        self.send(MarkedReadOut(marked=int(marked), unread_count=await centre.unread(kind, rid)))


class MarkAllReadHandler(_Recipient):
    @operation(summary="全部标记为已读", tags=TAGS, response=MarkedReadOut, auth=True, errors=RESIDENT)
    async def post(self) -> None:
        kind, rid = await self.recipient()
        marked = await self.deps.notifications.mark_all_read(kind, rid)
        self.send(MarkedReadOut(marked=marked, unread_count=0))


class PreferencesHandler(_Recipient):
    @operation(summary="我的通知渠道设置", tags=TAGS, response=PreferencesBody, auth=True, errors=RESIDENT)
    async def get(self) -> None:
        kind, rid = await self.recipient()
        self.send(PreferencesBody.of(await self.deps.notifications.preferences(kind, rid)))

    @operation(summary="设置通知渠道（微信、短信）", tags=TAGS, request=PreferencesBody, response=PreferencesBody,
               auth=True, errors=RESIDENT,
               description="关闭的渠道不再发送；消息中心始终保留每条通知。微信无法送达（未授权订阅、未关注公众号）时改发短信，"
               "前提是短信未关闭。")
    async def put(self) -> None:
        kind, rid = await self.recipient()
        body = self.parse(PreferencesBody)
        self.send(PreferencesBody.of(await self.deps.notifications.set_preferences(kind, rid, body.value())))


class GrantsHandler(_Recipient):
    @operation(summary="我的订阅消息授权", tags=TAGS, response=GrantsOut, auth=True, errors=RESIDENT,
               description="`templates` 列出可申请的模板 ID，供 wx.requestSubscribeMessage 的 tmplIds 使用。")
    async def get(self) -> None:
        kind, rid = await self.recipient()
        centre = self.deps.notifications
        self.send(GrantsOut(grants=[GrantOut.of(g) for g in await centre.grants_of(kind, rid)],
                            templates=centre.subscribe_templates()))

    @operation(summary="上报订阅消息授权结果（wx.requestSubscribeMessage 之后）", tags=TAGS, request=GrantsIn,
               response=GrantsOut, auth=True, errors=RESIDENT,
               description="每个 accept 增加一次可发送次数（一次性订阅，发送一条消耗一次；政务类长期订阅不消耗）；"
               "ban 表示用户拒绝且不再询问，此后不再发送该模板；reject / filter 不改变已有授权。未知模板 ID 返回 422。")
    async def post(self) -> None:
        kind, rid = await self.recipient()
        body = self.parse(GrantsIn)
        centre = self.deps.notifications
        grants = await centre.report_grants(kind, rid, dict(body.results))
        self.send(GrantsOut(grants=[GrantOut.of(g) for g in grants], templates=centre.subscribe_templates()))


def _staff_variant(handler: type[_Recipient]) -> type[_Recipient]:
    """The same endpoint under the staff session (documented with the staff errors)."""
    methods: dict[str, Any] = {"staff": True}
    for name in ("get", "post", "put"):
        method = handler.__dict__.get(name)
        if method is None:
            continue
        op = method.__openapi__

        async def call(self: _Recipient, *args: Any, _method: Any = method) -> None:
            await _method(self, *args)

        call.__openapi__ = replace(op, tags=("工作人员消息中心",),  # type: ignore[attr-defined]
                                   errors=tuple(e for e in op.errors if e not in RESIDENT) + STAFF)
        methods[name] = call
    return type("Staff" + handler.__name__, (handler,), methods)


StaffInboxHandler = _staff_variant(InboxHandler)
StaffUnreadCountHandler = _staff_variant(UnreadCountHandler)
StaffMarkReadHandler = _staff_variant(MarkReadHandler)
StaffMarkAllReadHandler = _staff_variant(MarkAllReadHandler)
StaffGrantsHandler = _staff_variant(GrantsHandler)


ROUTES = [
    route("/api/v1/me/notifications", InboxHandler),
    route("/api/v1/me/notifications/unread-count", UnreadCountHandler),
    route("/api/v1/me/notifications/read-all", MarkAllReadHandler),
    route("/api/v1/me/notifications/{notification_id}/read", MarkReadHandler),
    route("/api/v1/me/notification-preferences", PreferencesHandler),
    route("/api/v1/me/subscription-grants", GrantsHandler),
    route("/api/v1/staff/notifications", StaffInboxHandler),
    route("/api/v1/staff/notifications/unread-count", StaffUnreadCountHandler),
    route("/api/v1/staff/notifications/read-all", StaffMarkAllReadHandler),
    route("/api/v1/staff/notifications/{notification_id}/read", StaffMarkReadHandler),
    route("/api/v1/staff/subscription-grants", StaffGrantsHandler),
]
