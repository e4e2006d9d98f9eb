"""Login sessions (one per device) and their rotating refresh tokens.

A session is one refresh-token *family*: `_id` is both the session id (carried by access tokens as `sid`) and
the family id. The refresh token is 32 random bytes (base64url) handed to the client once; the database keeps
only its SHA-256, so a dump of this collection cannot be replayed. Every refresh rotates it: the presented hash
moves to `rotated_hashes` and a new token is issued in the same family, in one `find_one_and_update` whose
filter requires the presented hash to still be current — two concurrent refreshes with one token cannot both
succeed.

Presenting an already-rotated token means two parties hold the same token (a thief and the device), and we
cannot tell which is which: the whole family is revoked and REFRESH_TOKEN_REUSED raised (OAuth 2.0 Security
BCP, refresh token rotation). There is deliberately NO grace window: re-logging in from the mini-program is
silent (wx.login), so a false alarm costs a round trip, while a grace window would hand the race to a thief,
and returning "the same new pair" would need the new token stored in clear. Clients must therefore refresh
single-flight (one refresh in flight per device; the others wait for its answer).

Only the last `MAX_ROTATED_HASHES` rotated hashes are kept (a bounded document): an older token is merely
unknown (TOKEN_INVALID, nothing issued) rather than a reuse signal.

Access tokens stay valid until they expire; `is_session_active` is the cheap per-request check that rejects
those of a revoked session. It is the single seam for a later Redis cache: a revocation only needs to be
remembered for access-token TTL + leeway, after which the access token is dead anyway.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import redis.asyncio as aioredis
import structlog
from pymongo import IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from accounts.errors import REFRESH_TOKEN_REUSED, SESSION_REVOKED, TOKEN_EXPIRED, TOKEN_INVALID
from accounts.events import AccountEventRepository
from accounts.session_cache import ActiveSessionCache
from config.settings import Settings
from core.clock import bson_time
from core.errors import AppError
from core.ids import new_id
from core.mongo import Repository

log = structlog.get_logger(__name__)

REFRESH_TOKEN_BYTES = 32
MAX_ROTATED_HASHES = 200  # ~50 h of continuous use with 15-minute access tokens
MAX_DEVICE_CHARS = 200
TOUCH_INTERVAL = timedelta(minutes=1)
RETENTION = timedelta(days=30)  # sessions stay (for reuse answers and audit) this long after refresh expiry
_REFRESH_RE = re.compile(r"[A-Za-z0-9_-]{43}")  # base64url of 32 bytes, unpadded


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _new_refresh_token() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(REFRESH_TOKEN_BYTES)).rstrip(b"=").decode("ascii")



SessionKind = Literal["person", "staff"]


@dataclass(frozen=True, slots=True)
class RefreshGrant:
    """A fresh refresh token for the client (shown once) and whom it belongs to, to mint the access token."""

    session_id: str
    person_id: str
    refresh_token: str
    refresh_expires_at: datetime


@dataclass(frozen=True, slots=True)
class SessionView:
    """One row of "devices where I am logged in"."""

    session_id: str
    device: str
    created_at: datetime
    last_seen_at: datetime
    current: bool


class LoginSessionRepository(Repository):
    collection_name = "login_sessions"
    indexes = (
        IndexModel([("refresh_hash", 1)], unique=True, name="refresh_hash_unique"),
        IndexModel([("rotated_hashes", 1)], name="rotated_hashes"),
        IndexModel([("person_id", 1), ("last_seen_at", -1)], name="person_last_seen"),
        IndexModel(
            [("refresh_expires_at", 1)],
            expireAfterSeconds=int(RETENTION.total_seconds()),
            name="refresh_expires_at_ttl",
        ),
    )

    async def insert(self, doc: dict[str, Any]) -> None:
        await self.collection.insert_one(doc)

    async def rotate(
        self, old_hash: str, new_hash: str, *, kind: str, now: datetime, expires_at: datetime
    ) -> dict[str, Any] | None:
        """Atomically replace the current hash; None when `old_hash` is not current, live, unrevoked and of
        this kind of session."""
        return await self.collection.find_one_and_update(
            {"refresh_hash": old_hash, "kind": kind, "revoked_at": None, "refresh_expires_at": {"$gt": now}},
            {
                "$set": {
                    "refresh_hash": new_hash,
                    "refresh_expires_at": expires_at,
                    "rotated_at": now,
                    "last_seen_at": now,
                },
                "$push": {"rotated_hashes": {"$each": [old_hash], "$slice": -MAX_ROTATED_HASHES}},
                "$inc": {"generation": 1},
            },
            return_document=ReturnDocument.AFTER,
        )

    async def find_by_hash(self, token_hash: str) -> dict[str, Any] | None:
        """The session whose current or a rotated refresh token has this hash."""
        return await self.collection.find_one(
            {"$or": [{"refresh_hash": token_hash}, {"rotated_hashes": token_hash}]}
        )

    async def revoke(
        self, session_id: str, *, reason: str, now: datetime, person_id: str | None = None
    ) -> bool:
        query: dict[str, Any] = {"_id": session_id, "revoked_at": None}
        if person_id is not None:
            query["person_id"] = person_id
        result = await self.collection.update_one(
            query, {"$set": {"revoked_at": now, "revoked_reason": reason}}
        )
        return result.modified_count == 1

    async def revoke_person(self, person_id: str, *, reason: str, now: datetime, keep: str | None = None,
                            auth_method: str | None = None) -> list[str]:
        """End the person's active sessions (all but `keep`; only those begun by `auth_method`); their ids.
        Those found first are the ones ended: a session begun meanwhile is not, as if it began just after."""
        query: dict[str, Any] = {"person_id": person_id, "revoked_at": None}
        if keep is not None:
            query["_id"] = {"$ne": keep}
        if auth_method is not None:
            query["auth_method"] = auth_method
        found = [doc["_id"] async for doc in self.collection.find(query, {"_id": 1})]
        if not found:
            return []
        await self.collection.update_many({"_id": {"$in": found}, "revoked_at": None},
                                          {"$set": {"revoked_at": now, "revoked_reason": reason}})
        return found

    async def active_for_person(
        self, person_id: str, *, now: datetime, limit: int = 100
    ) -> list[dict[str, Any]]:
        cursor = self.collection.find(
            {"person_id": person_id, "revoked_at": None, "refresh_expires_at": {"$gt": now}},
            {"device": 1, "created_at": 1, "last_seen_at": 1},
        ).sort("last_seen_at", -1)
        return await cursor.to_list(limit)

    async def touch(self, session_id: str, *, now: datetime, min_interval: timedelta) -> bool:
        result = await self.collection.update_one(
            {"_id": session_id, "revoked_at": None, "last_seen_at": {"$lte": now - min_interval}},
            {"$set": {"last_seen_at": now}},
        )
        return result.modified_count == 1

    async def find_active(self, session_id: str, *, now: datetime) -> dict[str, Any] | None:
        return await self.collection.find_one(
            {"_id": session_id, "revoked_at": None, "refresh_expires_at": {"$gt": now}},
            {"auth_method": 1, "last_seen_at": 1, "refresh_expires_at": 1},
        )


class LoginSessions:
    """The session service: login, refresh with rotation and reuse detection, logout, device list."""

    def __init__(self, repo: LoginSessionRepository, *, refresh_ttl: timedelta,
                 events: AccountEventRepository | None = None, active: ActiveSessionCache | None = None) -> None:
        if refresh_ttl <= timedelta(0):
            raise ValueError("refresh token TTL must be positive")
        self.repo = repo
        self.refresh_ttl = refresh_ttl
        self.events = events  # a resident is told when their token was reused (accounts/events.py NOTIFY)
        self.active = active  # sessions found active lately (accounts/session_cache.py); None: always ask the db

    @classmethod
    def from_settings(cls, db: AsyncDatabase[dict[str, Any]], settings: Settings,
                      redis: aioredis.Redis | None = None) -> LoginSessions:
        return cls(LoginSessionRepository(db), refresh_ttl=timedelta(seconds=settings.refresh_token_ttl_s),
                   events=AccountEventRepository(db), active=ActiveSessionCache(redis) if redis is not None else None)

    async def _forget(self, session_ids: list[str]) -> None:
        if self.active is not None:
            await self.active.forget(session_ids)

    async def start(
        self, person_id: str, *, device: str, ip: str | None, kind: SessionKind = "person",
        auth_method: str | None = None, now: datetime | None = None,
    ) -> RefreshGrant:
        """A new session (family) for a login from one device; `device` is a label such as the user agent.
        `kind` says whose it is (a person or a staff account): each refresh endpoint rotates only its own kind.
        `auth_method` records how the login was proven (staff: `password_sms` or `wechat`); it stays with the
        session through every rotation, so a request can ask how its session began."""
        moment = bson_time(now)
        token, session_id = _new_refresh_token(), new_id()
        expires = moment + self.refresh_ttl
        await self.repo.insert(
            {
                "_id": session_id,
                "person_id": person_id,
                "kind": kind,
                "auth_method": auth_method,
                "device": (device or "")[:MAX_DEVICE_CHARS],
                "ip": ip,
                "created_at": moment,
                "last_seen_at": moment,
                "refresh_hash": hash_refresh_token(token),
                "rotated_hashes": [],
                "generation": 0,
                "rotated_at": None,
                "refresh_expires_at": expires,
                "revoked_at": None,
                "revoked_reason": None,
            }
        )
        return RefreshGrant(session_id, person_id, token, bson_time(expires))

    async def refresh(
        self, refresh_token: str, *, kind: SessionKind = "person", now: datetime | None = None
    ) -> RefreshGrant:
        """Rotate: the presented token stops working and a new one is returned. Raises AppError with
        TOKEN_INVALID (unknown, or another kind's token: refused untouched), TOKEN_EXPIRED, SESSION_REVOKED or
        REFRESH_TOKEN_REUSED (family revoked)."""
        if not isinstance(refresh_token, str) or not _REFRESH_RE.fullmatch(refresh_token):
            raise AppError(TOKEN_INVALID)
        moment = bson_time(now)
        presented, token = hash_refresh_token(refresh_token), _new_refresh_token()
        expires = moment + self.refresh_ttl
        doc = await self.repo.rotate(presented, hash_refresh_token(token), kind=kind, now=moment,
                                     expires_at=expires)
        if doc is not None:
            return RefreshGrant(doc["_id"], doc["person_id"], token, bson_time(expires))
        raise await self._refusal(presented, kind, moment)

    async def _refusal(self, presented: str, kind: SessionKind, moment: datetime) -> AppError:
        """Why a presented token could not rotate; a rotated one revokes its whole family first."""
        doc = await self.repo.find_by_hash(presented)
        if doc is None or doc.get("kind") != kind:
            return AppError(TOKEN_INVALID)
        if doc["revoked_at"] is not None:
            return AppError(SESSION_REVOKED)
        if doc["refresh_hash"] == presented:
            return AppError(TOKEN_EXPIRED)
        first = await self.repo.revoke(doc["_id"], reason="refresh_token_reused", now=moment)
        await self._forget([doc["_id"]])
        log.warning(
            "refresh_token_reused",
            session_id=doc["_id"],
            person_id=doc["person_id"],
            generation=doc["generation"],
        )
        if first and kind == "person" and self.events is not None:  # once per family; staff are not `people`
            await self.events.record(doc["person_id"], "refresh_token_reused",
                                     {"session_id": doc["_id"], "device": doc.get("device")})
        return AppError(REFRESH_TOKEN_REUSED)

    async def logout(
        self, session_id: str, *, person_id: str | None = None, now: datetime | None = None
    ) -> bool:
        """End one session; with `person_id`, only if it is that person's (removing a device from the list).
        False when there was nothing active to end (idempotent)."""
        ended = await self.repo.revoke(session_id, reason="logout", now=bson_time(now), person_id=person_id)
        if ended:
            await self._forget([session_id])
        return ended

    async def logout_everywhere(
        self, person_id: str, *, now: datetime | None = None, except_session: str | None = None,
        auth_method: str | None = None, reason: str = "logout_everywhere",
    ) -> int:
        """End every session of the person (all but `except_session`; only those begun by `auth_method`);
        returns how many were active."""
        ended = await self.repo.revoke_person(person_id, reason=reason, now=bson_time(now), keep=except_session,
                                              auth_method=auth_method)
        await self._forget(ended)
        return len(ended)

    async def list_sessions(
        self, person_id: str, *, current_session_id: str | None = None, now: datetime | None = None
    ) -> list[SessionView]:
        """Active sessions, most recently seen first, flagging the caller's own."""
        docs = await self.repo.active_for_person(person_id, now=bson_time(now))
        return [SessionView(doc["_id"], doc["device"], doc["created_at"], doc["last_seen_at"],
                            current=doc["_id"] == current_session_id) for doc in docs]

    async def touch(self, session_id: str, *, now: datetime | None = None) -> bool:
        """Record activity, writing at most once per TOUCH_INTERVAL (most requests cost no write)."""
        return await self.repo.touch(session_id, now=bson_time(now), min_interval=TOUCH_INTERVAL)

    async def is_session_active(self, session_id: str, *, now: datetime | None = None) -> bool:
        return await self.repo.find_active(session_id, now=bson_time(now)) is not None

    async def require_active(self, session_id: str, *, now: datetime | None = None) -> str | None:
        """For the auth check after `verify_access_token`: AppError(SESSION_REVOKED) if the session ended;
        otherwise how the session began (its `auth_method`, None for sessions that do not record one). Records
        the activity too, with a write only when the last one is older than TOUCH_INTERVAL: the read it needs
        anyway tells. With the active-session cache most requests ask Redis only; `last_seen_at` is then
        at most TOUCH_INTERVAL + a minute old (core/record_cache.KEEP_S) (what "my devices" shows)."""
        moment = bson_time(now)

        def load() -> Awaitable[dict[str, Any] | None]:
            return self._standing(session_id, moment)

        standing = await (self.active.standing(session_id, load) if self.active is not None else load())
        if standing is None or standing["until"] <= moment:
            raise AppError(SESSION_REVOKED)
        return standing["auth_method"]

    async def _standing(self, session_id: str, moment: datetime) -> dict[str, Any] | None:
        """How the session began and until when it may run, read from the database (None: it ended); its activity
        is recorded then, when the last record is older than TOUCH_INTERVAL."""
        doc = await self.repo.find_active(session_id, now=moment)
        if doc is None:
            return None
        seen = doc.get("last_seen_at")
        if seen is None or seen <= moment - TOUCH_INTERVAL:
            await self.repo.touch(session_id, now=moment, min_interval=TOUCH_INTERVAL)
        return {"auth_method": doc.get("auth_method"), "until": doc["refresh_expires_at"]}
