"""The Celery application (Redis broker), shared by the worker, beat and the publishers in the API.

Queues by urgency, so a bulk send never delays a login code: `urgent` (login codes) > `default` (case status)
> `bulk`. Tasks acknowledge late (a worker crash re-delivers the task) and are written to be idempotent.
"""

from __future__ import annotations

from typing import Any

from celery import Celery, signals
from celery.schedules import crontab
from kombu import Queue

from config.logging import configure_logging
from config.settings import InsecureSettingsError, Settings, check_production_safety, get_settings

QUEUES = ("urgent", "default", "bulk")


def create_celery(settings: Settings) -> Celery:
    task_modules = ["notifications.tasks", "notifications.tasks_sms", "affairs.import_tasks",
                    "storage.cleanup_tasks", "affairs.supervision_tasks"]
    task_modules.append("notifications.tasks_notify")  # the notification pipeline (notifications/contract.py)
    task_modules += ["payments.roster_tasks", "payments.bill_tasks"]  # school fees: rosters, bills
    task_modules.append("payments.order_tasks")  # payment orders: the sweep (payments/order_sweep.py)
    task_modules.append("payments.payment_record_tasks")  # e-receipts still owed; daily reconciliation
    app = Celery("zsb", broker=settings.redis_url, include=task_modules)
    app.conf.update(
        task_queues=[Queue(name) for name in QUEUES],
        task_default_queue="default",
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        timezone="Asia/Shanghai",
        enable_utc=True,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 3600},
        worker_hijack_root_logger=False,
        beat_schedule={
            "heartbeat": {"task": "notifications.tasks.heartbeat", "schedule": 30.0, "options": {"queue": "urgent"}},
            # The notification pipeline's safety net (notifications/sweeps.py): released, lost and stale sends;
            # and, hourly, sent messages never confirmed within 72 h.
            "notification-sweep": {"task": "notifications.sweep", "schedule": settings.notify_sweep_interval_s,
                                   "options": {"queue": "urgent"}},
            "notification-unconfirmed": {"task": "notifications.time_out_unconfirmed",
                                         "schedule": crontab(minute=41), "options": {"queue": "bulk"}},
            # Documents never confirmed (24 h) or never attached (30 days): storage/cleanup.py. Hourly, off the hour.
            # Tasks crossing 80 % of their time limit or their due date: affairs/supervision.py. Every 5 minutes.
            "case-supervision": {"task": "affairs.supervision_sweep", "schedule": 300.0,
                                 "options": {"queue": "default"}},
            "document-cleanup": {"task": "storage.cleanup_documents", "schedule": crontab(minute=17),
                                 "options": {"queue": "bulk"}},
            # Bill generations whose task was lost or whose worker died (payments/bill_tasks.py). Every 5 minutes.
            "bill-generation-sweep": {"task": "payments.bill_tasks.sweep_bill_generation", "schedule": 300.0,
                                      "options": {"queue": "bulk"}},
            # Payment orders no callback settled: query, settle or close; refunds still requested (order_sweep.py).
            "payment-order-sweep": {"task": "payments.order_tasks.sweep_orders",
                                    "schedule": settings.payment_sweep_interval_s, "options": {"queue": "default"}},
            # E-receipts still owed (payments/receipt_issuing.py), at the pace of the order sweep.
            "receipt-sweep": {"task": "payments.payment_record_tasks.issue_receipts",
                              "schedule": settings.payment_sweep_interval_s, "options": {"queue": "default"}},
            # Yesterday's trade bills of both channels against our orders, after the providers publish them.
            "payment-reconciliation": {"task": "payments.payment_record_tasks.reconcile",
                                       "schedule": crontab(hour=10, minute=30), "options": {"queue": "bulk"}},
        },
    )
    return app


@signals.setup_logging.connect
def _json_masked_logs(**_: Any) -> None:
    """Worker and beat log like the API: JSON lines with ID and phone numbers masked (replaces Celery's setup)."""
    settings = get_settings()
    configure_logging(settings.log_level, service="worker")


@signals.worker_init.connect
@signals.beat_init.connect
def _refuse_unsafe_production(**_: Any) -> None:
    """Worker and beat refuse development secrets and simulator addresses in production, as the API does.
    Celery logs and swallows a receiver's exceptions; SystemExit is what stops the process."""
    try:
        check_production_safety(get_settings())
    except InsecureSettingsError as exc:
        raise SystemExit(f"refusing to start: {exc}") from None


app = create_celery(get_settings())
