"""Error codes of payment orders, declared once via `define()`.

Someone else's bill or order answers `RESOURCE_NOT_FOUND` (accounts/scopes.py policy for residents), exactly like a
missing one; a bill that is no longer unpaid answers `BILL_STATE_CONFLICT` (payments/fee_errors.py).
"""

from __future__ import annotations

from core.errors import define

ORDER_PAYER_UNKNOWN = define(
    "ORDER_PAYER_UNKNOWN", 422, "请先在掌上办微信小程序（或公众号）中登录，再使用微信支付")
ALIPAY_BUYER_REQUIRED = define(
    "ALIPAY_BUYER_REQUIRED", 422, "请先在支付宝小程序中授权关联您的支付宝账号，再使用支付宝小程序支付；在浏览器中请使用支付宝网页支付")
ALIPAY_BUYER_MISMATCH = define(
    "ALIPAY_BUYER_MISMATCH", 422, "付款的支付宝账号与您已关联的不一致，请在支付宝小程序中重新授权后再支付")
PAYMENT_PROVIDER_UNAVAILABLE = define(
    "PAYMENT_PROVIDER_UNAVAILABLE", 503, "支付渠道暂时不可用，请稍后再试；如已付款，请勿重复支付，稍后刷新账单即可")
PAYMENT_PROVIDER_REJECTED = define(
    "PAYMENT_PROVIDER_REJECTED", 502, "支付渠道未能创建本次支付，请稍后重试或更换支付方式")
# A newer order of the same payer for the bill closed this one while it was being opened (payments/order_service.py).
ORDER_SUPERSEDED = define(
    "ORDER_SUPERSEDED", 409, "您已为该账单发起了新的支付，本次支付已关闭，请使用最新的支付")

# -- the payer's Alipay identity (payments/alipay_login.py) ------------------------------------------------------
# 422, not 401: the caller's token is fine, the authorization code is not.
ALIPAY_CODE_INVALID = define("ALIPAY_CODE_INVALID", 422, "支付宝授权已失效，请重新授权")
ALIPAY_TAKEN = define("ALIPAY_TAKEN", 409, "该支付宝账号已关联其他掌上办账号；如非本人操作，请联系客服")
ALIPAY_UNAVAILABLE = define("ALIPAY_UNAVAILABLE", 503, "支付宝服务暂时不可用，请稍后再试")
