"""Error codes of refunds asked for by school finance (payments/refunds.py) and of the automatic refunds school
finance tries again (payments/late_refunds.py), declared once via `define()`.

Staff of another school get the generic 403 FORBIDDEN of the scope check (accounts/scopes.py); these codes are
for the school's own finance staff.
"""

from __future__ import annotations

from core.errors import define

REFUND_NOT_FOUND = define("REFUND_NOT_FOUND", 404, "退款申请不存在")
REFUND_NOT_PAID = define("REFUND_NOT_PAID", 409, "该账单没有已支付的订单，不能退款")
REFUND_AMOUNT_EXCEEDED = define("REFUND_AMOUNT_EXCEEDED", 409, "退款金额超过可退金额（已退款和审批中的退款已扣除）")
REFUND_SAME_PERSON = define("REFUND_SAME_PERSON", 403, "退款须由另一位学校财务人员审批，申请人不能审批自己的申请")
REFUND_STATE_CONFLICT = define("REFUND_STATE_CONFLICT", 409, "退款申请当前状态不允许此操作，请刷新后重试")
REFUND_RETRY_NOT_ALLOWED = define(
    "REFUND_RETRY_NOT_ALLOWED", 409,
    "支付渠道尚未确认该退款已失败且未退出款项（如退款异常），不能用新的退款单号重新发起，请在支付渠道商户平台核实处理")
LATE_PAYMENT_NOT_FOUND = define("LATE_PAYMENT_NOT_FOUND", 404, "本校没有这笔未能入账、须退回的付款")
