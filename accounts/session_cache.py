""""This login session was active a moment ago", kept in Redis so most authenticated requests skip the database.

Every authenticated request asks whether its session still stands (a stolen phone's sessions end when the owner
logs it out). Asking the database each time made the session check the costliest part of a list read. So the
answer found in the database is kept (core/record_cache.py: for KEEP_S, with the session's refresh deadline) and
forgotten by every way a session ends (LoginSessions: logout, logout everywhere, a reused refresh token) before
that call returns. The deadline is checked against the request's own clock, so frozen-clock tests see it too.

When Redis fails, the check goes to the database (never an error, never a pass). What is left is what
RecordCache documents: a session ended while Redis cannot be told is still accepted until its entry runs out
(logged as `record_cache_forget_failed`), like an access token that has not expired yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import redis.asyncio as aioredis

from core.record_cache import RecordCache


class ActiveSessionCache:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.records = RecordCache(redis, "zsb:session-active")

    async def recall(self, session_id: str, now: datetime) -> dict[str, str | None] | None:
        """`{"auth_method": …}` when the session was found active lately and its deadline is after `now`."""
        kept = await self.records.get(session_id)
        if kept is None or kept["until"] <= now:
            return None
        return {"auth_method": kept.get("auth_method")}

    async def remember(self, session_id: str, *, auth_method: str | None, until: datetime) -> None:
        await self.records.put(session_id, {"auth_method": auth_method, "until": until})

    async def forget(self, session_ids: Iterable[str]) -> None:
        await self.records.forget(session_ids)
