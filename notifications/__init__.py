"""Background work: the Celery app and its tasks, the outbox relay, channels (subscribe message, template message,
SMS providers), templates and delivery states."""
