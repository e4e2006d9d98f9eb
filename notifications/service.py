"""What the API offers around notifications: the notification centre (inbox, unread count, mark read), channel
preferences, subscribe-message grants, template previews, delivery statistics and provider status reports.

Plain async methods over the repositories; who may call what is decided here with accounts.scopes (operations
endpoints) or by the caller being the recipient (a person's or staff member's own inbox, preferences, grants).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pymongo.asynchronous.database import AsyncDatabase

from accounts.scopes import Action, Actor, Kind, Resource, authorize
from core.cursors import CursorInvalid, decode_cursor, encode_cursor
from core.errors import VALIDATION_FAILED, AppError, FieldError
from core.outbox import OutboxRepository
from notifications import errors as NE
from notifications.channels.delivery_reports import DeliveryReportError
from notifications.grants import GrantRepository, GrantResult
from notifications.inbox import InboxRepository
from notifications.messages import MessageRepository
from notifications.metrics import NotificationMetrics
from notifications.preferences import PreferenceRepository, Preferences
from notifications.rendering import TemplateDataError
from notifications.reports import apply_reports
from notifications.templates import ChannelProblem, Template, TemplateBook, default_book, render

OPERATIONS = Resource(kind=Kind.NOTIFICATIONS)


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


class NotificationCentre:
    def __init__(self, db: AsyncDatabase[dict[str, Any]], book: TemplateBook | None = None) -> None:
        self.book = book or default_book()
        self.inbox, self.prefs, self.grants = InboxRepository(db), PreferenceRepository(db), GrantRepository(db)
        self.messages, self.outbox = MessageRepository(db), OutboxRepository(db)
        self.metrics = NotificationMetrics(self.stats_snapshot)
        self._subscribe_templates = {t.subscribe.template_id: t.subscribe.long_term
                                     for t in self.book.all_latest() if t.subscribe is not None}

    # -- the notification centre -------------------------------------------------------------------------------
    async def page(self, kind: str, recipient_id: str, *, cursor: str | None, limit: int,
                   unread_only: bool = False) -> Page:
        filters = {"kind": kind, "id": recipient_id, "unread": unread_only}
        before = None
        if cursor:
            try:
                before = str(decode_cursor(cursor, filters, size=1)[0])
            except CursorInvalid as exc:
                raise AppError(VALIDATION_FAILED, errors=[FieldError("cursor", "INVALID_CURSOR", str(exc))]) from None
        items = await self.inbox.page(kind, recipient_id, before=before, limit=limit, unread_only=unread_only)
        next_cursor = encode_cursor([items[-1]["_id"]], filters) if len(items) == limit else None
        return Page(items, next_cursor)

    async def unread(self, kind: str, recipient_id: str) -> int:
        return await self.inbox.unread_count(kind, recipient_id)

    async def mark_read(self, kind: str, recipient_id: str, item_id: str) -> bool:
        """True when this call marked it (False: it was read already); 404 for someone else's or no item."""
        changed = await self.inbox.mark_read(kind, recipient_id, item_id)
        if changed is None:
            raise AppError(NE.NOTIFICATION_NOT_FOUND)
        return changed

    async def mark_all_read(self, kind: str, recipient_id: str) -> int:
        return await self.inbox.mark_all_read(kind, recipient_id)

    # -- preferences and grants ----------------------------------------------------------------------------------
    async def preferences(self, kind: str, recipient_id: str) -> Preferences:
        return await self.prefs.get(kind, recipient_id)

    async def set_preferences(self, kind: str, recipient_id: str, prefs: Preferences) -> Preferences:
        return await self.prefs.set(kind, recipient_id, prefs)

    async def report_grants(self, kind: str, recipient_id: str,
                            results: dict[str, GrantResult]) -> list[dict[str, Any]]:
        """The answers of one `wx.requestSubscribeMessage` call, per template id (all checked before any is kept)."""
        unknown = [t for t in results if t not in self._subscribe_templates]
        if unknown:
            raise AppError(VALIDATION_FAILED, errors=[
                FieldError(f"results.{t}", "UNKNOWN_TEMPLATE", "不是本小程序的订阅消息模板") for t in unknown])
        for template_id, result in results.items():
            await self.grants.report(kind, recipient_id, template_id, result,
                                     long_term=self._subscribe_templates[template_id])
        return await self.grants.of(kind, recipient_id)

    async def grants_of(self, kind: str, recipient_id: str) -> list[dict[str, Any]]:
        return await self.grants.of(kind, recipient_id)

    def subscribe_templates(self) -> dict[str, bool]:
        """Template id → long-term, for the mini-program to ask for (`wx.requestSubscribeMessage` tmplIds)."""
        return dict(self._subscribe_templates)

    # -- templates (operations) --------------------------------------------------------------------------------
    def templates(self, actor: Actor) -> list[Template]:
        authorize(actor, Action.READ, OPERATIONS)
        return self.book.all_latest()

    def preview(self, actor: Actor, topic: str, *, version: int | None = None,
                data: dict[str, Any] | None = None) -> dict[str, Any]:
        """The template rendered for every channel with its sample data (`data` overrides single values)."""
        authorize(actor, Action.READ, OPERATIONS)
        template = self.book.get(topic, version) if version else self.book.latest(topic)
        if template is None:
            raise AppError(NE.TEMPLATE_NOT_FOUND)
        values = {**template.sample, **(data or {})}
        try:
            rendered = render(template, values)
        except TemplateDataError as exc:
            raise AppError(NE.TEMPLATE_PREVIEW_FAILED, errmsg=f"示例数据无法填充该模板：{exc.detail}") from None
        channels: dict[str, Any] = {}
        for name, part in rendered.parts.items():
            if part is None:
                continue
            if isinstance(part, ChannelProblem):
                channels[name] = {"ok": False, "reason": part.reason.value, "detail": part.detail}
            else:
                channels[name] = {"ok": True, **{k: v for k, v in vars_of(part).items()}}
        return {"topic": template.topic, "version": template.version, "versions": self.book.versions(topic),
                "urgent": template.urgent, "audience": template.audience, "needs": template.needs(),
                "data": values, "title": rendered.title, "body": rendered.body, "link": rendered.link,
                "channels": channels}

    # -- statistics and reports ----------------------------------------------------------------------------------
    async def stats_snapshot(self) -> dict[str, Any]:
        return {"messages": await self.messages.state_counts(), "failures": await self.messages.failure_reasons(),
                "outbox": await self.outbox.count_by_state()}

    async def stats(self, actor: Actor) -> dict[str, Any]:
        authorize(actor, Action.READ, OPERATIONS)
        return await self.stats_snapshot()

    async def delivery_reports(self, provider: Literal["aliyun", "tencent"], body: bytes) -> tuple[int, int]:
        try:
            return await apply_reports(self.messages, provider, body)
        except DeliveryReportError as exc:
            raise AppError(NE.DELIVERY_REPORT_INVALID, errmsg=f"状态报告格式不正确：{exc}") from None


def vars_of(part: object) -> dict[str, Any]:
    return {name: getattr(part, name) for name in part.__slots__}  # type: ignore[attr-defined]
