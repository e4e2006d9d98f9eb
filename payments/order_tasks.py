"""Celery beat task of payment orders (queue `default`): the sweep of payments/order_sweep.py, which queries the
providers about orders still open after ZSB_PAYMENT_QUERY_AFTER_MIN, settles or closes them, and sends refunds
still requested. Each run opens its own clients (MongoDB, WeChat Pay, Alipay) and closes them, like
payments/bill_tasks.py; two overlapping runs are harmless (every change is conditional on the state read)."""

from __future__ import annotations

import asyncio
from datetime import datetime

from config.settings import Settings, get_settings
from config.wiring import mongo_client
from notifications.celery_app import app
from payments.alipay import AlipayClient
from payments.payment_orders import Payments
from payments.wechatpay import WeChatPayClient

SWEEP_TASK = "payments.order_tasks.sweep_orders"
SWEEP_QUEUE = "default"


@app.task(name=SWEEP_TASK, ignore_result=True, queue=SWEEP_QUEUE)
def sweep_orders() -> None:
    asyncio.run(run_sweep(get_settings()))


async def run_sweep(settings: Settings, *, now: datetime | None = None) -> dict[str, int]:
    """One sweep with clients of its own; what happened, by outcome."""
    mongo = mongo_client(settings)
    wechatpay, alipay = WeChatPayClient.from_settings(settings), AlipayClient.from_settings(settings)
    try:
        payments = Payments.build(mongo, settings, wechatpay=wechatpay, alipay=alipay)
        return await payments.sweep.run(now)
    finally:
        await wechatpay.aclose()
        await alipay.aclose()
        await mongo.close()
