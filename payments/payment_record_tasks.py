"""Celery tasks of e-receipts and reconciliation (queue `default` / `bulk`), each run with clients of its own
(MongoDB, WeChat Pay, Alipay), like payments/order_tasks.py.

- `payments.payment_record_tasks.issue_receipts` (beat, every ZSB_PAYMENT_SWEEP_INTERVAL_S): receipts still
  owed (payments/receipt_issuing.py), e.g. of orders the order sweep settled, or whose process died; then the
  credit notes still owed for settled refunds (payments/credit_note_issuing.py), which name those receipts.
- `payments.payment_record_tasks.reconcile` (beat, 10:30 Asia/Shanghai, after WeChat Pay publishes at about
  10:00 and Alipay at about 09:00): yesterday's trade bills of both channels against our orders
  (payments/reconciliation_runs.py). A channel whose bill cannot be had is retried alone every 30 minutes, up to
  8 times; every run replaces that day's report, so a retry or an overlap is harmless.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Any

import structlog

from config.settings import Settings, get_settings
from config.wiring import mongo_client
from notifications.celery_app import app
from payments.alipay import AlipayClient
from payments.payment_orders import Payments
from payments.reconciliation import ReconciliationReportRepository
from payments.reconciliation_runs import (
    ChannelRun,
    PaidOrderLedger,
    Reconciler,
    SchoolRefundLedger,
    yesterday,
)
from payments.wechatpay import WeChatPayClient

log = structlog.get_logger(__name__)
RECEIPTS_TASK = "payments.payment_record_tasks.issue_receipts"
RECONCILE_TASK = "payments.payment_record_tasks.reconcile"
RETRY_EVERY_S = 1800
MAX_RETRIES = 8


@app.task(name=RECEIPTS_TASK, ignore_result=True, queue="default")
def issue_receipts() -> None:
    asyncio.run(run_receipt_sweep(get_settings()))


async def run_receipt_sweep(settings: Settings, *, now: datetime | None = None) -> dict[str, int]:
    mongo = mongo_client(settings)
    wechatpay, alipay = WeChatPayClient.from_settings(settings), AlipayClient.from_settings(settings)
    try:
        payments = Payments.build(mongo, settings, wechatpay=wechatpay, alipay=alipay)
        return {**await payments.receipts.sweep(now), **await payments.credit_notes.sweep(now)}
    finally:
        await wechatpay.aclose()
        await alipay.aclose()
        await mongo.close()


@app.task(name=RECONCILE_TASK, bind=True, ignore_result=True, queue="bulk", max_retries=MAX_RETRIES)
def reconcile(self: Any, day: str | None = None, channels: list[str] | None = None) -> None:
    the_day = date.fromisoformat(day) if day else yesterday()
    runs = asyncio.run(run_reconciliation(get_settings(), the_day, channels))
    failed = [run.channel for run in runs if run.status == "failed"]
    if failed:
        log.warning("reconciliation_retry", day=the_day.isoformat(), channels=failed, retries=self.request.retries)
        raise self.retry(kwargs={"day": the_day.isoformat(), "channels": failed}, countdown=RETRY_EVERY_S)


async def run_reconciliation(settings: Settings, day: date, channels: list[str] | None = None) -> list[ChannelRun]:
    """One day's reconciliation with clients of its own; what each channel's run came to."""
    mongo = mongo_client(settings)
    wechatpay, alipay = WeChatPayClient.from_settings(settings), AlipayClient.from_settings(settings)
    try:
        db = mongo[settings.mongodb_db]
        reconciler = Reconciler(PaidOrderLedger(db), SchoolRefundLedger(db), ReconciliationReportRepository(db),
                                {"wechatpay": wechatpay.trade_bill, "alipay": alipay.trade_bill})
        return await reconciler.run_day(day, channels or ("wechatpay", "alipay"))
    finally:
        await wechatpay.aclose()
        await alipay.aclose()
        await mongo.close()
