""""This login session was active a moment ago", kept in Redis so most authenticated requests skip the database.

Every authenticated request asks whether its session still stands (a stolen phone's sessions end when the owner
logs it out). Asking the database each time made the session check the costliest part of a list read. So the
answer found in the database is kept here for ACTIVE_FOR_S, with the session's refresh deadline, and dropped
by every way a session ends (LoginSessions: logout, logout everywhere, a reused refresh token) before that call
returns. A deadline passing is checked against the request's own clock, so frozen-clock tests see it too.

When Redis fails, the check goes to the database (never an error, never a pass). The one window left: a
session ended while Redis cannot be told — it is then still accepted until its entry runs out, at most
ACTIVE_FOR_S, like an access token that has not expired yet (logged as `session_cache_forget_failed`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import bson
import redis.asyncio as aioredis
import structlog
from bson.codec_options import CodecOptions
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)

ACTIVE_FOR_S = 60
_CODEC = CodecOptions(tz_aware=True, tzinfo=UTC)


class ActiveSessionCache:
    def __init__(self, redis: aioredis.Redis, *, prefix: str = "zsb:session-active", active_for_s: int = ACTIVE_FOR_S
                 ) -> None:
        self.redis, self.prefix, self.active_for_s = redis, prefix, active_for_s

    def _key(self, session_id: str) -> str:
        return f"{self.prefix}:{session_id}"

    async def recall(self, session_id: str, now: datetime) -> dict[str, Any] | None:
        """`{"auth_method": …}` when the session was found active lately and its deadline is after `now`."""
        try:
            raw = await self.redis.get(self._key(session_id))
        except RedisError as exc:
            log.warning("session_cache_unavailable", error=type(exc).__name__)
            return None
        if raw is None:
            return None
        kept = bson.decode(raw, codec_options=_CODEC)
        return {"auth_method": kept.get("auth_method")} if kept["until"] > now else None

    async def remember(self, session_id: str, *, auth_method: str | None, until: datetime) -> None:
        try:
            await self.redis.set(self._key(session_id), bson.encode({"auth_method": auth_method, "until": until}),
                                 ex=self.active_for_s)
        except RedisError as exc:
            log.warning("session_cache_unavailable", error=type(exc).__name__)

    async def forget(self, session_ids: Iterable[str]) -> None:
        keys = [self._key(session_id) for session_id in session_ids]
        if not keys:
            return
        try:
            await self.redis.delete(*keys)
        except RedisError as exc:
            log.error("session_cache_forget_failed", sessions=len(keys), error=type(exc).__name__,
                      accepted_for_at_most_s=self.active_for_s)
