"""Operations of the notification pipeline (system administrators): templates, previews, delivery statistics;
and the SMS providers' delivery reports (status callbacks), which change delivery states.
"""

from __future__ import annotations

from typing import Literal

from accounts import errors as AE
from core import errors as E
from mobile_api.base import BaseHandler
from mobile_api.handlers.notifications_models import (
    PreviewIn,
    PreviewOut,
    StatsOut,
    TemplatesOut,
    TemplateSummaryOut,
)
from mobile_api.openapi import operation
from mobile_api.routing import route
from notifications import errors as NE
from notifications.channels.delivery_reports import ALIYUN_ACK, TENCENT_ACK

TAGS = ["通知运维"]
ACCESS = (AE.STAFF_ONLY, AE.ACCOUNT_DISABLED, AE.PASSWORD_CHANGE_REQUIRED, E.FORBIDDEN)


class TemplatesHandler(BaseHandler):
    @operation(summary="通知模板（每个主题的最新版本）", tags=TAGS, response=TemplatesOut, auth=True, errors=ACCESS,
               description="仅系统管理员。模板以数据文件维护（notifications/templates.toml），每次改动即新版本。")
    async def get(self) -> None:
        account = await self.staff_account()
        templates = self.deps.notifications.templates(account.actor())
        self.send(TemplatesOut(templates=[TemplateSummaryOut.of(t) for t in templates]))


class TemplatePreviewHandler(BaseHandler):
    @operation(summary="预览通知模板（示例数据）", tags=TAGS, response=PreviewOut, auth=True,
               errors=(*ACCESS, NE.TEMPLATE_NOT_FOUND, NE.TEMPLATE_PREVIEW_FAILED),
               query=(("version", "模板版本，默认最新"),),
               description="按各渠道实际发送的样子渲染：站内消息标题与正文、订阅消息字段（已按微信字段规则截断）、"
               "公众号模板消息字段、短信全文；某渠道无法渲染时给出原因。")
    async def get(self, topic: str) -> None:
        account = await self.staff_account()
        raw = self.get_query_argument("version", None)
        version = int(raw) if raw and raw.isdigit() else None
        self.send(PreviewOut(**self.deps.notifications.preview(account.actor(), topic, version=version)))

    @operation(summary="预览通知模板（自定义数据）", tags=TAGS, request=PreviewIn, response=PreviewOut, auth=True,
               errors=(*ACCESS, NE.TEMPLATE_NOT_FOUND, NE.TEMPLATE_PREVIEW_FAILED),
               description="`data` 覆盖示例数据中的取值，例如试一个很长的事项名称会如何截断。")
    async def post(self, topic: str) -> None:
        account = await self.staff_account()
        body = self.parse(PreviewIn)
        preview = self.deps.notifications.preview(account.actor(), topic, version=body.version, data=body.data)
        self.send(PreviewOut(**preview))


class StatsHandler(BaseHandler):
    @operation(summary="通知投递统计：各状态条数与失败原因", tags=TAGS, response=StatsOut, auth=True, errors=ACCESS,
               description="同样的数字也在 /metrics：zsb_notification_messages、zsb_notification_failures、"
               "zsb_outbox_events。")
    async def get(self) -> None:
        account = await self.staff_account()
        self.send(StatsOut(**await self.deps.notifications.stats(account.actor())))


class _ReportHandler(BaseHandler):
    provider: Literal["aliyun", "tencent"] = "aliyun"

    async def receive(self) -> None:
        await self.deps.notifications.delivery_reports(self.provider, self.body)
        self.send(ALIYUN_ACK if self.provider == "aliyun" else TENCENT_ACK)


class AliyunReportHandler(_ReportHandler):
    provider = "aliyun"

    @operation(summary="阿里云短信状态报告（SmsReport 回执，服务商调用）", tags=TAGS,
               errors=(NE.DELIVERY_REPORT_INVALID,),
               description="请求体为 SmsReport JSON 数组；应答 `{\"code\": 0, \"msg\": \"接收成功\"}`，否则阿里云会重发。"
               "按 biz_id 与 out_id（本系统的消息 ID）匹配消息。生产环境请在反向代理上只放行服务商公布的回调地址段。")
    async def post(self) -> None:
        await self.receive()


class TencentReportHandler(_ReportHandler):
    provider = "tencent"

    @operation(summary="腾讯云短信状态回调（服务商调用）", tags=TAGS, errors=(NE.DELIVERY_REPORT_INVALID,),
               description="请求体为状态回调 JSON 数组；应答 `{\"result\": 0, \"errmsg\": \"OK\"}`。按 sid 匹配消息。")
    async def post(self) -> None:
        await self.receive()


ROUTES = [
    route("/api/v1/admin/notification-templates", TemplatesHandler),
    route("/api/v1/admin/notification-templates/{topic}/preview", TemplatePreviewHandler),
    route("/api/v1/admin/notifications/stats", StatsHandler),
    route("/api/v1/notifications/reports/aliyun-sms", AliyunReportHandler),
    route("/api/v1/notifications/reports/tencent-sms", TencentReportHandler),
]
