"""Error codes of e-receipts and reconciliation, declared once via `define()`.

A resident asking for the receipt of someone else's bill gets `RESOURCE_NOT_FOUND` (accounts/scopes.py policy),
exactly like a missing bill; `RECEIPT_NOT_FOUND` is for a bill they (or the school's finance) may see that has
no receipt yet. The public check answers `genuine: false` for an unknown number and a wrong code alike.
"""

from __future__ import annotations

from core.errors import define

RECEIPT_NOT_FOUND = define("RECEIPT_NOT_FOUND", 404, "该账单暂无电子票据：缴费成功后会自动开具，请稍后刷新")
RECEIPT_CHECKS_EXCEEDED = define("RECEIPT_CHECKS_EXCEEDED", 429, "查验电子票据过于频繁，请稍后再试")
RECONCILIATION_DAY_INVALID = define(
    "RECONCILIATION_DAY_INVALID", 422, "只能重新对账今天以前、90 天以内的日期（渠道账单次日生成）")
RECONCILIATION_RUNS_EXCEEDED = define("RECONCILIATION_RUNS_EXCEEDED", 429, "重新对账过于频繁，请稍后再试")
CREDIT_NOTE_NOT_FOUND = define("CREDIT_NOTE_NOT_FOUND", 404, "该账单没有这张红字票据")
