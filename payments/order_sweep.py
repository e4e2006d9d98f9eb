"""The safety net of payments (Celery beat, payments/order_tasks.py): settle what no callback settled.

Every order still `created` / `paying` QUERY_AFTER (ZSB_PAYMENT_QUERY_AFTER_MIN) after it was made is asked
about at its provider:
- paid there → `Settlement.settle(source="query")`, exactly like a callback (a callback that comes later is a
  duplicate and changes nothing);
- not paid and past its expiry (30 min) → closed at the provider first (so nobody can pay it any more), then
  closed here; a provider that answers "already paid" to the close is queried again and settled;
- never opened there (a prepay that timed out before reaching it) and expired → closed here;
- WeChat Pay PAYERROR / CLOSED / REVOKED → closed here (failed for PAYERROR);
- a provider that does not answer → left for the next round.
The questions and the closing are payments/order_closing.py, which a parent's new order uses too.
Then every refund still `requested` is sent again (payments/order_refunds.py), and those still `processing`
ZSB_REFUND_QUERY_AFTER_MIN after they were sent are queried; the same for the refunds school finance asked for
(payments/refund_settlement.py: approved ones sent again, processing ones queried and settled).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from payments.errors import CallbackRejected, ProviderUnavailable
from payments.order_closing import FAILED, UNPAID, ProviderOrders
from payments.order_refunds import Refunder
from payments.order_settlement import Paid, Settlement
from payments.orders import OrderRepository, RefundState
from payments.refund_settlement import RefundSettlement

log = structlog.get_logger(__name__)
BATCH = 200


@dataclass
class OrderSweep:
    orders: OrderRepository
    settlement: Settlement
    refunder: Refunder
    provider: ProviderOrders  # the query / close dialogue, shared with new orders (payments/order_closing.py)
    query_after: timedelta = timedelta(minutes=5)
    refund_settlement: RefundSettlement | None = None

    async def run(self, now: datetime | None = None) -> dict[str, int]:
        """One round; counts of what happened, by outcome."""
        at = now or datetime.now(UTC)
        counts: Counter[str] = Counter()
        for order in await self.orders.open_before(at - self.query_after, BATCH):
            try:
                counts[await self.resolve(order, at)] += 1
            except ProviderUnavailable as exc:
                log.warning("payment_sweep_provider_unavailable", order_id=order["_id"], code=exc.code)
                counts["provider_unavailable"] += 1
            except CallbackRejected as exc:  # the provider's own answer disagrees with the order: a person looks
                log.error("payment_sweep_mismatch", order_id=order["_id"], reason=exc.reason, detail=exc.detail[:120])
                counts["mismatch"] += 1
        for order in await self.orders.refunds_in(RefundState.REQUESTED, BATCH):
            counts[f"refund_{await self.refunder.carry_out(order['_id'])}"] += 1
        for order in await self.orders.refunds_in(RefundState.PROCESSING, BATCH):
            if (checked := await self.refunder.check(order, at)) is not None:
                counts[f"refund_{checked}"] += 1
        if self.refund_settlement is not None:
            counts.update(await self.refund_settlement.sweep(at))
        if counts:
            log.info("payment_sweep_done", **dict(counts))
        return dict(counts)

    async def resolve(self, order: dict[str, Any], now: datetime) -> str:
        facts = await self.provider.facts(order, now)
        if isinstance(facts, Paid):
            return (await self.settlement.settle(facts)).value
        if facts == FAILED:
            await self.settlement.close(order["_id"], "provider_payerror", failed=True)
            return "failed"
        if now < order["expires_at"] and facts == UNPAID:
            return "waiting"
        if facts == UNPAID:  # expired: closed at the provider first (a close refused as paid is settled)
            return await self.provider.close(order, now, "expired")
        await self.settlement.close(order["_id"], "closed_at_provider")
        return "closed"
