"""Delivery channels: one adapter per provider behind a small provider-neutral interface per medium.

`sms.py` is the SMS interface (message, result, temporary vs permanent failure); `aliyun_sms.py` is the Aliyun
adapter on the official SDK. Adapters are synchronous and run in the Celery worker, never on the API's IOLoop.
A second SMS provider (Tencent Cloud, for failover) is another class with the same `send` and the same two
exceptions; the caller tries the next provider on `SmsTemporaryError` only.
"""
