"""Helpers of the refund tests (tests/e2e/payments/test_school_refunds.py): school finance staff signed in, a
bill paid over HTTP through the simulators, and WeChat Pay refund callbacks made exactly as the provider makes
them (its platform key, its encryption) to send to our notify endpoint.

Finance staff are real staff accounts with real sessions and access tokens (`StaffLogin.open_session`, the step
every staff login ends with); only the SMS second factor is skipped, so these tests need no Celery worker (the
login itself is tested in tests/e2e/test_staff_*.py).
"""

from __future__ import annotations

import json
import time
from typing import Any, NamedTuple

import httpx

from config.settings import Settings
from config.wiring import Dependencies
from payments.keys import load_private_key
from simulators import wechatpay_crypto
from tests.support.identity import LoggedIn
from tests.support.notify import eventually
from tests.support.payments import PaySim
from tests.support.school_fees import REGION, Child, FeeSchool, linked_parent
from tests.support.school_payments import ALIPAY_MINI, link_alipay, order_for, order_state
from tests.support.staff import StaffSession, make_staff
from tests.support.wechat import SimControl


async def finance_staff(deps: Dependencies, school_id: str, *, region_code: str = REGION) -> StaffSession:
    """A fresh school_finance account of the school, signed in."""
    user = await make_staff(deps, roles=("school_finance",), department_id=school_id, department_name="测试小学",
                            region_code=region_code)
    assert user.account is not None
    result = await deps.staff_login.open_session(user.account, device="finance-pc", ip=None,
                                                 auth_method="password_sms")
    return StaffSession({"access_token": result.access_token, "staff": {"id": result.account.id}})


async def paid_order(api: httpx.AsyncClient, parent: LoggedIn, bill_id: str, sim: PaySim,
                     channel: str = "wechatpay") -> dict[str, Any]:
    """The parent pays the bill through the provider's simulator; the order once paid."""
    if channel == "alipay":
        await link_alipay(api, parent, sim)
    body = ALIPAY_MINI if channel == "alipay" else {}
    created = await order_for(api, parent, bill_id, **body)
    assert created.status_code == 201, created.text
    order = created.json()
    paid = await sim.action("trades" if channel == "alipay" else "orders", order["id"], "pay")
    assert paid.status_code == 200, paid.text
    return await order_state(api, parent, order["id"], "paid")


class PaidFamily(NamedTuple):
    child: Child
    parent: LoggedIn
    bill_id: str
    order: dict[str, Any]
    asker: StaffSession  # school finance: asks for the refund
    approver: StaffSession  # school finance: a second person, approves it


async def paid_family(api: httpx.AsyncClient, deps: Dependencies, wechat: SimControl, school: FeeSchool,
                      sim: PaySim, *, child: int = 0, channel: str = "wechatpay") -> PaidFamily:
    """The set-up of every refund test: a parent links a child and pays its bill; two finance staff of the school."""
    kid = school.children[child]
    parent = await linked_parent(api, wechat, deps, school, kid)
    bill_id = school.bills[kid.id]
    order = await paid_order(api, parent, bill_id, sim, channel)
    return PaidFamily(kid, parent, bill_id, order, await finance_staff(deps, school.school_id),
                      await finance_staff(deps, school.school_id))


def refunds_url(school: FeeSchool, tail: str = "") -> str:
    return f"/api/v1/schools/{school.school_id}/refunds{tail}"


async def ask_refund(api: httpx.AsyncClient, who: StaffSession, school: FeeSchool, bill_id: str, amount_fen: int,
                     reason: str = "学生转学，退还部分费用", key: str | None = None) -> httpx.Response:
    headers = who.headers | ({"Idempotency-Key": key} if key else {})
    return await api.post(f"/api/v1/schools/{school.school_id}/bills/{bill_id}/refunds", headers=headers,
                          json={"amount_fen": amount_fen, "reason": reason})


def signed_refund_callback(settings: Settings, resource: dict[str, Any],
                           event_type: str = "REFUND.SUCCESS") -> tuple[dict[str, str], bytes]:
    """A REFUND.* callback exactly as WeChat Pay makes it."""
    platform = load_private_key(settings.sim_wechatpay_platform_private_key)
    envelope = {"id": f"EV-{time.time_ns()}", "create_time": "2026-09-02T10:00:00+08:00",
                "resource_type": "encrypt-resource", "event_type": event_type, "summary": "退款成功",
                "resource": wechatpay_crypto.encrypt_resource(settings.wechatpay_apiv3_key.get_secret_value().encode(),
                                                              resource, original_type="refund",
                                                              associated_data="refund")}
    body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
    headers = wechatpay_crypto.signed_headers(platform, settings.wechatpay_platform_public_key_id, body,
                                              int(time.time()))
    return headers | {"Content-Type": "application/json"}, body


def refund_resource(settings: Settings, refund: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The decrypted resource of a REFUND.SUCCESS for one of our refunds (as the API shows it)."""
    return {"mchid": settings.wechatpay_mchid, "out_trade_no": refund["order_id"],
            "transaction_id": f"4200{time.time_ns()}", "out_refund_no": refund["out_refund_no"],
            "refund_id": f"50{time.time_ns()}", "refund_status": "SUCCESS",
            "success_time": "2026-09-02T10:00:00+08:00", "user_received_account": "支付用户零钱",
            "amount": {"total": refund["order_amount_fen"], "refund": refund["amount_fen"],
                       "payer_total": refund["order_amount_fen"], "payer_refund": refund["amount_fen"]}} | changes


async def refund_in_state(api: httpx.AsyncClient, who: StaffSession, school: FeeSchool, refund_id: str,
                          *states: str) -> dict[str, Any]:
    """The refund (as school finance reads it) once it is in one of `states`."""
    async def probe() -> dict[str, Any] | None:
        refund = (await api.get(refunds_url(school, f"/{refund_id}"), headers=who.headers)).json()
        return refund if refund["state"] in states else None

    return await eventually(probe, within_s=10, what=f"refund {'/'.join(states)}")


async def refunded_in_part(api: httpx.AsyncClient, school: FeeSchool, bill_id: str, amount_fen: int,
                           asker: StaffSession, approver: StaffSession,
                           reason: str = "学生转学，退还部分费用") -> dict[str, Any]:
    """School finance refunds `amount_fen` of the paid bill (asked by one, approved by another); the refund once
    the provider settled it."""
    asked = await ask_refund(api, asker, school, bill_id, amount_fen, reason=reason)
    assert asked.status_code == 201, asked.text
    approved = await api.post(refunds_url(school, f"/{asked.json()['id']}/approve"), headers=approver.headers)
    assert approved.status_code == 200, approved.text
    return await refund_in_state(api, asker, school, asked.json()["id"], "succeeded")
