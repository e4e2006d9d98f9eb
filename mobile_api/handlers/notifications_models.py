"""Request and response models of the notification endpoints (what the OpenAPI document shows)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from notifications.preferences import Preferences
from notifications.templates import Template


class InboxQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cursor: str | None = Field(None, max_length=512, description="上一页返回的 next_cursor")
    limit: int = Field(20, ge=1, le=50, description="每页条数")
    unread: bool = Field(False, description="只看未读")


class NotificationOut(BaseModel):
    id: str
    topic: str = Field(description="事件主题，如 case.accepted")
    title: str
    body: str
    link: str | None = Field(description="小程序内页面路径，点开消息时跳转")
    subject: dict[str, str] = Field(description="相关记录，如 {kind: case, id: …}")
    unread: bool
    created_at: datetime
    read_at: datetime | None

    @classmethod
    def of(cls, doc: dict[str, Any]) -> NotificationOut:
        return cls(id=doc["_id"], topic=doc["topic"], title=doc["title"], body=doc["body"], link=doc.get("link"),
                   subject=doc.get("subject") or {}, unread=bool(doc.get("unread")), created_at=doc["created_at"],
                   read_at=doc.get("read_at"))


class NotificationPageOut(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None = Field(description="下一页的翻页标记；没有更多时为 null")
    unread_count: int


class UnreadCountOut(BaseModel):
    unread_count: int


class MarkedReadOut(BaseModel):
    marked: int = Field(description="本次标记为已读的条数（已读过的不重复计数）")
    unread_count: int


class PreferencesBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    wechat: bool = Field(description="微信订阅消息、公众号模板消息")
    sms: bool = Field(description="短信")

    @classmethod
    def of(cls, prefs: Preferences) -> PreferencesBody:
        return cls(wechat=prefs.wechat, sms=prefs.sms)

    def value(self) -> Preferences:
        return Preferences(wechat=self.wechat, sms=self.sms)


class GrantsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    results: dict[str, Literal["accept", "reject", "ban", "filter"]] = Field(
        min_length=1, max_length=10,
        description="wx.requestSubscribeMessage 的 success 回调结果：模板 ID → accept / reject / ban / filter")


class GrantOut(BaseModel):
    template_id: str
    available: int = Field(description="剩余可发送次数（一次性订阅）；长期订阅不消耗")
    long_term: bool
    banned: bool = Field(description="用户已拒绝并不再询问")

    @classmethod
    def of(cls, doc: dict[str, Any]) -> GrantOut:
        return cls(template_id=doc["template_id"], available=int(doc.get("available", 0)),
                   long_term=bool(doc.get("long_term")), banned=bool(doc.get("banned")))


class GrantsOut(BaseModel):
    grants: list[GrantOut]
    templates: dict[str, bool] = Field(description="可申请的订阅消息模板 ID → 是否长期订阅")


class TemplateSummaryOut(BaseModel):
    topic: str
    version: int
    audience: str
    urgent: bool
    title: str
    channels: list[str]

    @classmethod
    def of(cls, template: Template) -> TemplateSummaryOut:
        channels = [name for name, part in (("wechat_subscribe", template.subscribe),
                                            ("wechat_template", template.official_account), ("sms", template.sms))
                    if part is not None]
        return cls(topic=template.topic, version=template.version, audience=template.audience,
                   urgent=template.urgent, title=template.title, channels=channels)


class TemplatesOut(BaseModel):
    templates: list[TemplateSummaryOut]


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int | None = Field(None, ge=1, description="默认最新版本")
    data: dict[str, str | int] = Field(default_factory=dict, max_length=50, description="覆盖示例数据中的取值")


class PreviewOut(BaseModel):
    topic: str
    version: int
    versions: list[int]
    urgent: bool
    audience: str
    needs: list[str] = Field(description="模板用到的数据项")
    data: dict[str, str | int]
    title: str
    body: str
    link: str | None
    channels: dict[str, dict[str, Any]] = Field(description="每个渠道实际发送的内容，或无法发送的原因")


class StateCountOut(BaseModel):
    state: str
    channel: str
    count: int


class FailureOut(BaseModel):
    state: str
    channel: str
    reason: str | None
    provider_code: str | None
    count: int


class StatsOut(BaseModel):
    messages: list[StateCountOut]
    failures: list[FailureOut] = Field(description="失败原因，按条数从多到少")
    outbox: dict[str, int] = Field(description="发件箱事件：pending 待投递 / dispatched 已投递 / processed 已处理")
