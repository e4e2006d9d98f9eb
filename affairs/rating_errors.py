"""Error codes of ratings of service (好差评) and their follow-up (差评整改), declared once via `define()`.

A resident asking about someone else's case gets `RESOURCE_NOT_FOUND`, like a case that does not exist
(accounts/scopes.py policy); staff of another department get 403 `FORBIDDEN`. These codes are for the rest.
"""

from __future__ import annotations

from core.errors import define

# The case has not ended (or was withdrawn, or is a draft): body has `state`.
RATING_NOT_OPEN = define("RATING_NOT_OPEN", 409, "办件办结后才能评价")
# Past the rating window after the case ended: body has `rate_until`.
RATING_WINDOW_CLOSED = define("RATING_WINDOW_CLOSED", 409, "已超过评价期限，不能再评价")
# One rating per case: a second, different rating is refused with the one on record (`rating` in the body).
RATING_ALREADY_GIVEN = define("RATING_ALREADY_GIVEN", 409, "您已评价过该办件，评价提交后不能修改")
RATING_NOT_FOUND = define("RATING_NOT_FOUND", 404, "评价不存在")
# Follow-up (回访整改) is owed for 差评 only, and recorded once: body has `follow_up` when one exists.
FOLLOW_UP_NOT_NEEDED = define("FOLLOW_UP_NOT_NEEDED", 409, "该评价不是差评，无需回访整改")
FOLLOW_UP_ALREADY_RECORDED = define("FOLLOW_UP_ALREADY_RECORDED", 409, "该差评已登记回访整改结果")
