"""Fees, bills, orders, refunds, reconciliation, receipts; one adapter per provider (wechatpay, alipay)."""
