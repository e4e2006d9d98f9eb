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

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import redis.asyncio as aioredis

from core.record_cache import RecordCache

Standing = dict[str, Any]


class ActiveSessionCache:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.records = RecordCache(redis, "zsb:session-active")

    async def standing(self, session_id: str, load: Callable[[], Awaitable[Standing | None]]) -> Standing | None:
        """`{"auth_method": …, "until": …}` of a session found active lately, or as `load()` finds it now (None:
        not active). The caller still compares `until` with its own clock."""
        return await self.records.fetch(session_id, load)

    async def forget(self, session_ids: Iterable[str]) -> None:
        await self.records.forget(session_ids)
