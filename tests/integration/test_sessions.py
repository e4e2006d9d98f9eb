"""Login sessions against the real database: rotation, reuse detection, concurrency, logout, device list."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta

import pytest

from accounts.sessions import LoginSessionRepository, LoginSessions, RefreshGrant, hash_refresh_token
from config.wiring import Dependencies
from core.errors import AppError
from core.ids import new_id


@pytest.fixture
def sessions(deps: Dependencies) -> LoginSessions:
    return LoginSessions.from_settings(deps.db, deps.settings)


async def refused(call: Awaitable[object]) -> str:
    with pytest.raises(AppError) as caught:
        await call
    assert caught.value.status == 401
    return caught.value.error.code


async def test_indexes_are_registered(deps: Dependencies) -> None:
    info = await deps.db["login_sessions"].index_information()
    assert info["refresh_hash_unique"]["unique"] is True
    assert info["refresh_expires_at_ttl"]["expireAfterSeconds"] == 30 * 86400
    assert {"rotated_hashes", "person_last_seen"} <= set(info)


async def test_start_stores_only_the_hash(deps: Dependencies, sessions: LoginSessions) -> None:
    person = new_id()
    grant = await sessions.start(person, device="iPhone 15 / WeChat 8.0.50", ip="203.0.113.7")
    assert grant.person_id == person and len(grant.refresh_token) == 43
    assert grant.refresh_expires_at - datetime.now(UTC) > timedelta(days=29, hours=23)
    doc = await deps.db["login_sessions"].find_one({"_id": grant.session_id})
    assert doc is not None
    assert doc["refresh_hash"] == hash_refresh_token(grant.refresh_token)
    assert grant.refresh_token not in str(doc)
    assert (doc["person_id"], doc["device"], doc["ip"], doc["revoked_at"]) == (
        person,
        "iPhone 15 / WeChat 8.0.50",
        "203.0.113.7",
        None,
    )
    assert doc["created_at"] == doc["last_seen_at"] and doc["created_at"].utcoffset() == timedelta(0)
    assert await sessions.is_session_active(grant.session_id)


async def test_refresh_rotates_in_the_same_family(deps: Dependencies, sessions: LoginSessions) -> None:
    first = await sessions.start(new_id(), device="Android", ip=None)
    later = datetime.now(UTC) + timedelta(hours=1)
    second = await sessions.refresh(first.refresh_token, now=later)
    assert second.session_id == first.session_id and second.person_id == first.person_id
    assert second.refresh_token != first.refresh_token
    assert second.refresh_expires_at > first.refresh_expires_at  # sliding expiry
    third = await sessions.refresh(second.refresh_token, now=later)
    doc = await deps.db["login_sessions"].find_one({"_id": first.session_id})
    assert doc is not None and doc["generation"] == 2
    assert doc["refresh_hash"] == hash_refresh_token(third.refresh_token)
    assert doc["rotated_hashes"] == [
        hash_refresh_token(first.refresh_token),
        hash_refresh_token(second.refresh_token),
    ]


async def test_reuse_of_a_rotated_token_revokes_the_whole_family(
    deps: Dependencies, sessions: LoginSessions
) -> None:
    person = new_id()
    stolen = await sessions.start(person, device="Android", ip="198.51.100.1")
    other_device = await sessions.start(person, device="iPad", ip="198.51.100.2")
    newest = await sessions.refresh(stolen.refresh_token)  # the thief (or the device) rotates first
    assert await refused(sessions.refresh(stolen.refresh_token)) == "REFRESH_TOKEN_REUSED"
    assert await refused(sessions.refresh(newest.refresh_token)) == "SESSION_REVOKED"
    assert await refused(sessions.refresh(stolen.refresh_token)) == "SESSION_REVOKED"
    assert not await sessions.is_session_active(stolen.session_id)
    with pytest.raises(AppError) as caught:
        await sessions.require_active(stolen.session_id)
    assert caught.value.error.code == "SESSION_REVOKED"
    doc = await deps.db["login_sessions"].find_one({"_id": stolen.session_id})
    assert doc is not None and doc["revoked_reason"] == "refresh_token_reused"
    assert (await sessions.refresh(other_device.refresh_token)).session_id == other_device.session_id
    # the person is told once (account event + its notification in the outbox), not at every later refusal
    events = await deps.db["account_events"].find({"person_id": person}).to_list()
    assert [e["type"] for e in events] == ["refresh_token_reused"]
    notices = await deps.db["outbox"].find({"topic": "account.refresh_token_reused",
                                            "recipients.id": person}).to_list()
    assert len(notices) == 1


@pytest.mark.parametrize("contenders", [2, 8])
async def test_concurrent_refresh_with_one_token_has_exactly_one_winner(
    sessions: LoginSessions, contenders: int
) -> None:
    grant = await sessions.start(new_id(), device="Android", ip=None)
    results = await asyncio.gather(
        *(sessions.refresh(grant.refresh_token) for _ in range(contenders)), return_exceptions=True
    )
    winners = [r for r in results if isinstance(r, RefreshGrant)]
    losers = [r for r in results if isinstance(r, AppError)]
    assert len(winners) == 1 and len(losers) == contenders - 1, results
    assert {e.error.code for e in losers} <= {"REFRESH_TOKEN_REUSED", "SESSION_REVOKED"}
    assert "REFRESH_TOKEN_REUSED" in {e.error.code for e in losers}
    # no grace window: the race is treated as reuse, so the winner's new token is dead too
    assert await refused(sessions.refresh(winners[0].refresh_token)) == "SESSION_REVOKED"


async def test_unknown_and_malformed_tokens_are_invalid(sessions: LoginSessions) -> None:
    assert await refused(sessions.refresh("A" * 43)) == "TOKEN_INVALID"
    assert await refused(sessions.refresh("short")) == "TOKEN_INVALID"
    assert await refused(sessions.refresh("A" * 42 + "!")) == "TOKEN_INVALID"


async def test_refresh_after_expiry_fails(sessions: LoginSessions) -> None:
    grant = await sessions.start(new_id(), device="Android", ip=None)
    after = grant.refresh_expires_at + timedelta(seconds=1)
    assert await refused(sessions.refresh(grant.refresh_token, now=after)) == "TOKEN_EXPIRED"
    assert not await sessions.is_session_active(grant.session_id, now=after)
    just_before = grant.refresh_expires_at - timedelta(seconds=1)
    assert (await sessions.refresh(grant.refresh_token, now=just_before)).session_id == grant.session_id


async def test_logout_ends_one_session(deps: Dependencies, sessions: LoginSessions) -> None:
    person = new_id()
    phone = await sessions.start(person, device="phone", ip=None)
    tablet = await sessions.start(person, device="tablet", ip=None)
    assert await sessions.logout(phone.session_id, person_id="someone-else") is False  # not theirs
    assert await sessions.logout(phone.session_id) is True
    assert await sessions.logout(phone.session_id) is False  # idempotent
    assert not await sessions.is_session_active(phone.session_id)
    assert await sessions.is_session_active(tablet.session_id)
    assert await refused(sessions.refresh(phone.refresh_token)) == "SESSION_REVOKED"
    doc = await deps.db["login_sessions"].find_one({"_id": phone.session_id})
    assert (
        doc is not None
        and doc["revoked_reason"] == "logout"
        and doc["revoked_at"].utcoffset() == timedelta(0)
    )


async def test_logout_everywhere(sessions: LoginSessions) -> None:
    person, bystander = new_id(), new_id()
    grants = [await sessions.start(person, device=f"device {i}", ip=None) for i in range(3)]
    kept = await sessions.start(bystander, device="other person", ip=None)
    assert await sessions.logout_everywhere(person) == 3
    assert await sessions.logout_everywhere(person) == 0
    for grant in grants:
        assert not await sessions.is_session_active(grant.session_id)
        assert await refused(sessions.refresh(grant.refresh_token)) == "SESSION_REVOKED"
    assert await sessions.list_sessions(person) == []
    assert await sessions.is_session_active(kept.session_id)


async def test_list_sessions_and_touch(sessions: LoginSessions) -> None:
    person = new_id()
    t0 = datetime.now(UTC).replace(microsecond=0)
    old = await sessions.start(person, device="old phone", ip=None, now=t0)
    new = await sessions.start(person, device="new phone", ip=None, now=t0 + timedelta(minutes=5))
    gone = await sessions.start(person, device="lost phone", ip=None, now=t0)
    await sessions.logout(gone.session_id)

    listed = await sessions.list_sessions(
        person, current_session_id=old.session_id, now=t0 + timedelta(minutes=6)
    )
    assert [(s.session_id, s.device, s.current) for s in listed] == [
        (new.session_id, "new phone", False),
        (old.session_id, "old phone", True),
    ]
    assert listed[1].created_at == t0 and listed[1].last_seen_at == t0

    assert await sessions.touch(old.session_id, now=t0 + timedelta(seconds=30)) is False  # within a minute
    assert await sessions.touch(old.session_id, now=t0 + timedelta(minutes=10)) is True
    assert await sessions.touch(old.session_id, now=t0 + timedelta(minutes=10, seconds=59)) is False
    assert await sessions.touch(gone.session_id, now=t0 + timedelta(hours=1)) is False  # revoked: no write
    listed = await sessions.list_sessions(person, now=t0 + timedelta(minutes=11))
    assert [(s.session_id, s.last_seen_at, s.current) for s in listed] == [
        (old.session_id, t0 + timedelta(minutes=10), False),
        (new.session_id, t0 + timedelta(minutes=5), False),
    ]


async def test_the_auth_check_records_activity_with_a_write_only_when_stale(sessions: LoginSessions) -> None:
    t0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    grant = await sessions.start(new_id(), device="phone", ip=None, now=t0, auth_method="password_sms")

    async def last_seen() -> datetime:
        doc = await sessions.repo.collection.find_one({"_id": grant.session_id})
        assert doc is not None
        return doc["last_seen_at"]

    assert await sessions.require_active(grant.session_id, now=t0 + timedelta(seconds=30)) == "password_sms"
    assert await last_seen() == t0  # seen within the minute: the read alone answered
    await sessions.require_active(grant.session_id, now=t0 + timedelta(minutes=3))
    assert await last_seen() == t0 + timedelta(minutes=3)


async def test_repository_is_in_the_startup_list() -> None:
    from config.wiring import REPOSITORIES

    assert LoginSessionRepository in REPOSITORIES


async def test_auth_method_stays_with_the_session_and_selects_what_to_end(sessions: LoginSessions) -> None:
    staff = new_id()
    office = await sessions.start(staff, device="pc", ip=None, kind="staff", auth_method="password_sms")
    phone = await sessions.start(staff, device="phone", ip=None, kind="staff", auth_method="wechat")
    tablet = await sessions.start(staff, device="tablet", ip=None, kind="staff", auth_method="wechat")
    rotated = await sessions.refresh(phone.refresh_token, kind="staff")
    assert await sessions.require_active(rotated.session_id) == "wechat"  # survives rotation
    assert await sessions.require_active(office.session_id) == "password_sms"
    assert await sessions.require_active((await sessions.start(new_id(), device="d", ip=None)).session_id) is None

    assert await sessions.logout_everywhere(staff, auth_method="wechat", except_session=tablet.session_id) == 1
    assert not await sessions.is_session_active(phone.session_id)
    assert await sessions.is_session_active(tablet.session_id) and await sessions.is_session_active(office.session_id)
    assert await sessions.logout_everywhere(staff, except_session=office.session_id, reason="password_changed") == 1
    assert [v.session_id for v in await sessions.list_sessions(staff)] == [office.session_id]
    doc = await sessions.repo.collection.find_one({"_id": tablet.session_id})
    assert doc is not None and doc["revoked_reason"] == "password_changed"


# -- the active-session cache (accounts/session_cache.py) ------------------------------------------------------
@pytest.fixture
def cached_sessions(deps: Dependencies) -> LoginSessions:
    return LoginSessions.from_settings(deps.db, deps.settings, deps.redis)


async def test_a_cached_session_ends_at_once_on_logout(deps: Dependencies, cached_sessions: LoginSessions) -> None:
    grant = await cached_sessions.start(new_id(), device="iPhone", ip=None, auth_method="wechat")
    assert await cached_sessions.require_active(grant.session_id) == "wechat"
    await deps.db["login_sessions"].update_one({"_id": grant.session_id}, {"$set": {"device": "moved"}})
    assert await cached_sessions.require_active(grant.session_id) == "wechat"  # answered from Redis
    assert await cached_sessions.logout(grant.session_id)
    assert await refused(cached_sessions.require_active(grant.session_id)) == "SESSION_REVOKED"


async def test_logout_everywhere_and_a_reused_refresh_token_end_cached_sessions(
        cached_sessions: LoginSessions) -> None:
    person = new_id()
    phone, pad, kept = [await cached_sessions.start(person, device=d, ip=None) for d in ("phone", "pad", "pc")]
    for grant in (phone, pad, kept):
        await cached_sessions.require_active(grant.session_id)
    assert await cached_sessions.logout_everywhere(person, except_session=kept.session_id) == 2
    for grant in (phone, pad):
        assert await refused(cached_sessions.require_active(grant.session_id)) == "SESSION_REVOKED"
    assert await cached_sessions.require_active(kept.session_id) is None
    rotated = await cached_sessions.refresh(kept.refresh_token)
    await cached_sessions.require_active(rotated.session_id)
    assert await refused(cached_sessions.refresh(kept.refresh_token)) == "REFRESH_TOKEN_REUSED"  # stolen copy
    assert await refused(cached_sessions.require_active(kept.session_id)) == "SESSION_REVOKED"


async def test_a_cached_session_past_its_deadline_is_refused(cached_sessions: LoginSessions) -> None:
    grant = await cached_sessions.start(new_id(), device="phone", ip=None)
    await cached_sessions.require_active(grant.session_id)
    later = grant.refresh_expires_at + timedelta(seconds=1)
    assert await refused(cached_sessions.require_active(grant.session_id, now=later)) == "SESSION_REVOKED"
