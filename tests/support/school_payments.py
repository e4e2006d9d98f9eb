"""Helpers of the payment tests over HTTP (fixtures: tests/e2e/payments/conftest.py): linking a parent's Alipay
(the simulator mints the `my.getAuthCode` code), creating orders, waiting for their state, and making WeChat Pay
callbacks exactly as the provider does (its key, its encryption) to attack our endpoint with."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from config.settings import Settings
from config.wiring import Dependencies
from payments.keys import load_private_key
from simulators import wechatpay_crypto
from tests.support.identity import LoggedIn
from tests.support.notify import eventually
from tests.support.payments import PaySim

NOTIFY = "/api/v1/payments/wechatpay/notify"
ALIPAY_MINI = {"channel": "alipay", "alipay_mode": "mini"}  # an order from the Alipay mini-program


async def link_alipay(api: httpx.AsyncClient, parent: LoggedIn, alipay: PaySim,
                      user_id: str | None = None) -> dict[str, Any]:
    """`my.getAuthCode` on the parent's phone (the simulator mints the code), then our link endpoint; the
    simulator's user (`user_id`, `open_id`)."""
    minted = await alipay.post("auth_codes", {"user_id": user_id} if user_id else {})
    linked = await api.post("/api/v1/me/alipay", json={"auth_code": minted["auth_code"]}, headers=parent.headers)
    assert linked.status_code == 200, linked.text
    assert linked.json()["alipay"] is True
    return minted


async def order_for(api: httpx.AsyncClient, parent: LoggedIn, bill_id: str, key: str | None = None,
                    **body: Any) -> httpx.Response:
    headers = parent.headers | ({"Idempotency-Key": key} if key else {})
    return await api.post(f"/api/v1/me/bills/{bill_id}/orders", json={"channel": "wechatpay", **body}, headers=headers)


async def order_state(api: httpx.AsyncClient, parent: LoggedIn, order_id: str, state: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        order = (await api.get(f"/api/v1/me/orders/{order_id}", headers=parent.headers)).json()
        return order if order["state"] == state else None

    return await eventually(probe, within_s=10, what=f"order {state}")


async def bill_paid_events(deps: Dependencies, bill_id: str) -> int:
    return await deps.db["outbox"].count_documents({"topic": "bill.paid", "data.bill_id": bill_id})


def signed_callback(settings: Settings, resource: dict[str, Any], *, timestamp: int | None = None,
                    key_id: str | None = None, key: Any = None) -> tuple[dict[str, str], bytes]:
    """A TRANSACTION.SUCCESS exactly as WeChat Pay makes it (the simulator's own crypto, its platform key)."""
    platform = key or load_private_key(settings.sim_wechatpay_platform_private_key)
    envelope = {"id": f"EV-{time.time_ns()}", "create_time": "2026-09-01T10:00:00+08:00",
                "resource_type": "encrypt-resource", "event_type": "TRANSACTION.SUCCESS", "summary": "支付成功",
                "resource": wechatpay_crypto.encrypt_resource(settings.wechatpay_apiv3_key.get_secret_value().encode(),
                                                              resource, original_type="transaction",
                                                              associated_data="transaction")}
    body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
    headers = wechatpay_crypto.signed_headers(platform, key_id or settings.wechatpay_platform_public_key_id, body,
                                              timestamp or int(time.time()))
    return headers | {"Content-Type": "application/json"}, body


def transaction(settings: Settings, out_trade_no: str, total: int, **changes: Any) -> dict[str, Any]:
    return {"appid": settings.wechatpay_appid, "mchid": settings.wechatpay_mchid, "out_trade_no": out_trade_no,
            "transaction_id": f"4200{time.time_ns()}", "trade_type": "JSAPI", "trade_state": "SUCCESS",
            "success_time": "2026-09-01T10:00:00+08:00", "payer": {"openid": "oSomeone"},
            "amount": {"total": total, "payer_total": total, "currency": "CNY"}} | changes
