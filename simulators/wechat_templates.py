"""The message templates the WeChat simulator knows at start (and after a reset): what the mini-program and the
official account would have picked from WeChat's public template library in the 政务民生 category.

Real template ids are 43-character strings assigned by WeChat; these are readable stand-ins, so local settings and
test data can name them. A test or demo adds others with `POST /_sim/wechat/templates`. `long_term` marks the
templates whose category allows long-term subscriptions (government affairs does); the others take one-time
grants only. Field order is the order the phone shows them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MINIPROGRAM = "miniprogram"
OFFICIAL_ACCOUNT = "official_account"


@dataclass(frozen=True)
class SimTemplate:
    app: str  # MINIPROGRAM (subscribe message) or OFFICIAL_ACCOUNT (template message)
    template_id: str
    title: str
    fields: dict[str, str] = field(default_factory=dict)  # key (kind + number) -> label shown on the phone
    long_term: bool = False

    def describe(self) -> dict[str, object]:
        return {"app": self.app, "template_id": self.template_id, "title": self.title, "fields": dict(self.fields),
                "long_term": self.long_term}


DEFAULT_TEMPLATES: tuple[SimTemplate, ...] = (
    SimTemplate(MINIPROGRAM, "mp-case-progress", "办件进度通知", {
        "thing1": "事项名称", "character_string2": "办件编号", "phrase3": "办理状态", "time4": "更新时间",
        "thing5": "温馨提示"}, long_term=True),
    SimTemplate(MINIPROGRAM, "mp-supplement-needed", "材料补正通知", {
        "thing1": "事项名称", "character_string2": "办件编号", "thing3": "补正内容", "date4": "截止日期"},
        long_term=True),
    SimTemplate(MINIPROGRAM, "mp-staff-task", "待办任务提醒", {
        "thing1": "事项名称", "character_string2": "办件编号", "name3": "申请人", "time4": "到达时间",
        "date5": "办结时限"}, long_term=True),
    SimTemplate(MINIPROGRAM, "mp-overdue-warning", "办件超期预警", {
        "thing1": "事项名称", "character_string2": "办件编号", "time3": "办结时限", "thing4": "预警说明"},
        long_term=True),
    SimTemplate(MINIPROGRAM, "mp-bill-published", "缴费通知", {
        "thing1": "缴费项目", "name2": "缴费对象", "amount3": "应缴金额", "thing4": "收费单位"}),
    SimTemplate(MINIPROGRAM, "mp-payment-result", "缴费结果通知", {
        "thing1": "缴费项目", "amount2": "支付金额", "phrase3": "支付状态", "time4": "支付时间"}),
    SimTemplate(MINIPROGRAM, "mp-refund-settled", "退款到账通知", {
        "thing1": "退款项目", "amount2": "退款金额", "time3": "到账时间", "thing4": "备注"}),
    SimTemplate(MINIPROGRAM, "mp-rating-invite", "服务评价邀请", {
        "thing1": "事项名称", "time2": "办结时间", "thing3": "温馨提示"}),
    SimTemplate(OFFICIAL_ACCOUNT, "oa-case-progress", "办件进度提醒", {
        "thing1": "事项名称", "character_string2": "办件编号", "phrase3": "办理状态", "time4": "更新时间"}),
    SimTemplate(OFFICIAL_ACCOUNT, "oa-staff-task", "待办任务提醒", {
        "thing1": "事项名称", "character_string2": "办件编号", "time3": "办结时限"}),
    SimTemplate(OFFICIAL_ACCOUNT, "oa-bill-published", "缴费提醒", {
        "thing1": "缴费项目", "amount2": "应缴金额", "thing3": "收费单位"}),
)
