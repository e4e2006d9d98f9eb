"""Error codes of payment orders, declared once via `define()`.

Someone else's bill or order answers `RESOURCE_NOT_FOUND` (accounts/scopes.py policy for residents), exactly like a
missing one; a bill that is no longer unpaid answers `BILL_STATE_CONFLICT` (payments/fee_errors.py).
"""

from __future__ import annotations

from core.errors import define

ORDER_PAYER_UNKNOWN = define(
    "ORDER_PAYER_UNKNOWN", 422, "请先在掌上办微信小程序（或公众号）中登录，再使用微信支付")
ALIPAY_BUYER_REQUIRED = define(
    "ALIPAY_BUYER_REQUIRED", 422, "支付宝小程序支付须提供付款人的支付宝 open_id；在浏览器中请使用支付宝网页支付")
PAYMENT_PROVIDER_UNAVAILABLE = define(
    "PAYMENT_PROVIDER_UNAVAILABLE", 503, "支付渠道暂时不可用，请稍后再试；如已付款，请勿重复支付，稍后刷新账单即可")
PAYMENT_PROVIDER_REJECTED = define(
    "PAYMENT_PROVIDER_REJECTED", 502, "支付渠道未能创建本次支付，请稍后重试或更换支付方式")
