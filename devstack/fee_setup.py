"""A fee item taken through its whole review in-process, for seeding: the demo school, the payments benchmark
and the payment tests. The real services do every step (payments/fee_items.py); only the Celery hand-offs are
replaced by running the same job in this process (`not_queued`), so no worker is needed."""

from __future__ import annotations

import dataclasses
from typing import Any

from accounts.scopes import Actor
from config.wiring import Dependencies
from payments.fee_item_model import FeeItemIn
from payments.school_fees import bill_generator


async def not_queued(*_: Any, **__: Any) -> str:
    """Stands in for the Celery publisher where the caller runs the job itself right after."""
    return "run-in-process"


async def publish_with_bills(deps: Dependencies, finance: Actor, school_code: str, body: FeeItemIn, *,
                             reviewers: tuple[Actor, Actor]) -> dict[str, Any]:
    """Draft → submitted → approved by both departments (education, price) → published, then its bills made;
    the published item."""
    items = dataclasses.replace(deps.school_fees.fee_items, publish=not_queued)
    item = await items.create(finance, school_code, body)
    item = await items.submit(finance, item["_id"], item["revision"])
    for reviewer in reviewers:
        item = await items.review(reviewer, item["_id"], item["revision"], approve=True)
    item = await items.publish_item(finance, item["_id"], item["revision"])
    await bill_generator(deps.mongo, deps.db).run(item["_id"])
    return item
