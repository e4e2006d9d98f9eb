"""Error codes of the notification endpoints (inbox, preferences, grants, templates, delivery reports)."""

from core.errors import define

NOTIFICATION_NOT_FOUND = define("NOTIFICATION_NOT_FOUND", 404, "消息不存在")
TEMPLATE_NOT_FOUND = define("TEMPLATE_NOT_FOUND", 404, "通知模板不存在")
TEMPLATE_PREVIEW_FAILED = define("TEMPLATE_PREVIEW_FAILED", 422, "示例数据无法填充该模板")
DELIVERY_REPORT_INVALID = define("DELIVERY_REPORT_INVALID", 400, "状态报告格式不正确")
