"""Staff accounts against the real database and Redis: storage of personal data, unique constraints, password
lockout (known and unknown usernames alike), rehash on login, and argon2 running off the event loop."""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections.abc import Awaitable

import pytest
from argon2 import PasswordHasher
from pymongo.errors import DuplicateKeyError

from accounts.passwords import Passwords
from accounts.phone import parse_cn_mobile
from accounts.staff import PHONE_CONTEXT, NewStaff, protect_phone
from accounts.staff_login import LOCK_AFTER_FAILURES, ticket_key
from config.pii import pii_from_settings
from config.wiring import Dependencies
from core.errors import AppError
from core.masking import find_unmasked
from tests.support.sms import random_phone
from tests.support.staff import PASSWORD, make_staff, new_username


async def code_of(call: Awaitable[object]) -> str:
    with pytest.raises(AppError) as caught:
        await call
    return caught.value.error.code


async def test_indexes(deps: Dependencies) -> None:
    info = await deps.db["staff_accounts"].index_information()
    assert info["username_unique"]["unique"] is True
    assert info["person_id_unique"]["unique"] is True and "partialFilterExpression" in info["person_id_unique"]
    assert {"wechat_mp_openid_unique", "wechat_oa_openid_unique", "department_region"} <= set(info)
    assert "target_recent" in await deps.db["staff_audit"].index_information()


async def test_stored_document_holds_no_plaintext(deps: Dependencies) -> None:
    user = await make_staff(deps, username=new_username("Mixed"), must_change_password=True)
    doc = await deps.db["staff_accounts"].find_one({"_id": user.id})
    assert doc is not None
    assert doc["username"] == user.username.lower()
    cipher, index = pii_from_settings(deps.settings)
    assert cipher.decrypt(doc["phone"]["cipher"], context=PHONE_CONTEXT) == user.phone_e164
    assert doc["phone"]["index"] == index.phone(user.phone_e164, domain=PHONE_CONTEXT)
    assert doc["phone"]["index"] != index.phone(user.phone_e164)  # not joinable with people.phone
    assert doc["phone"]["masked"] == user.phone_e164[3:6] + "****" + user.phone_e164[-4:]
    assert doc["password"]["hash"].startswith("$argon2id$") and PASSWORD not in str(doc)
    assert doc["region_prefix"] == "430124" and doc["password"]["must_change"] is True
    assert find_unmasked(str(doc)) == []
    audit = await deps.staff_admin.audit.for_target(user.id)
    assert [a["action"] for a in audit] == ["staff_created"] and audit[0]["actor_staff_id"] is None


async def test_username_is_unique_whatever_the_case(deps: Dependencies) -> None:
    user = await make_staff(deps)
    assert await code_of(make_staff(deps, username=user.username.upper())) == "STAFF_USERNAME_TAKEN"


async def test_a_level_that_does_not_fit_is_refused_on_every_path(deps: Dependencies) -> None:
    """The HTTP model checks the level, but seeding and the CLI call the service directly: it checks too, or the
    account would be stored and every sign-in of it would fail."""
    for level, region in (("street", "430124"), ("town", "430124"), ("district", "430182001")):
        with pytest.raises(AppError) as refused:
            await make_staff(deps, level=level, region_code=region)
        assert refused.value.error.code == "VALIDATION_FAILED"
        assert [e.errcode for e in refused.value.errors] == ["STAFF_LEVEL_INVALID"]
    assert (await make_staff(deps, level="town", region_code="430182001")).account.level == "town"


async def test_concurrent_creates_of_one_username_make_one_account(deps: Dependencies) -> None:
    name = new_username()
    results = await asyncio.gather(*(make_staff(deps, username=name) for _ in range(4)), return_exceptions=True)
    made = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, AppError)]
    assert len(made) == 1 and len(refused) == 3
    assert {r.error.code for r in refused} == {"STAFF_USERNAME_TAKEN"}
    assert await deps.db["staff_accounts"].count_documents({"username": name}) == 1


async def test_one_person_has_at_most_one_staff_account(deps: Dependencies) -> None:
    cipher, index = pii_from_settings(deps.settings)
    mobile = parse_cn_mobile(random_phone())

    def new(person_id: str | None) -> NewStaff:
        return NewStaff(username=new_username(), display_name="测试员", mobile=mobile, department_id="zwzx",
                        department_name="政务服务中心", region_code="430124", level="district", roles=("staff",),
                        person_id=person_id)

    repo, phone = deps.staff_admin.staff, protect_phone(mobile, cipher, index)
    await repo.insert(new("person-x-" + new_username()), password_hash="h", phone=phone, created_by=None)
    await repo.insert(new(None), password_hash="h", phone=phone, created_by=None)
    await repo.insert(new(None), password_hash="h", phone=phone, created_by=None)  # no link: no constraint
    linked = await deps.db["staff_accounts"].find_one({"phone.index": phone["index"], "person_id": {"$exists": True}})
    with pytest.raises(DuplicateKeyError):
        await repo.insert(new(linked["person_id"]), password_hash="h", phone=phone, created_by=None)


async def test_lockout_after_five_wrong_passwords(deps: Dependencies) -> None:
    user = await make_staff(deps)
    login = deps.staff_login
    for _ in range(LOCK_AFTER_FAILURES - 1):
        assert await code_of(login.start(user.username, "Wrong-password-1", ip=None)) == "STAFF_LOGIN_FAILED"
    with pytest.raises(AppError) as caught:
        await login.start(user.username, "Wrong-password-1", ip=None)
    assert caught.value.error.code == "STAFF_LOGIN_LOCKED"
    assert 890 <= int(caught.value.headers["Retry-After"]) <= 900
    # locked: even the right password is refused, and not checked at all
    assert await code_of(login.start(user.username, PASSWORD, ip=None)) == "STAFF_LOGIN_LOCKED"
    audit = await deps.staff_admin.audit.for_target(user.id)
    assert audit[0]["action"] == "staff_locked_out"

    await deps.db["staff_accounts"].update_one({"_id": user.id}, {"$set": {"locked_until": None}})
    challenge = await login.start(user.username, PASSWORD, ip=None)  # the lock is over: the SMS step starts
    assert user.account and challenge.phone_masked == user.account.phone_masked and len(challenge.ticket) == 43
    doc = await deps.db["staff_accounts"].find_one({"_id": user.id})
    assert doc["failed_logins"] == 0


async def test_unknown_usernames_fail_and_lock_the_same_way(deps: Dependencies) -> None:
    login, ghost = deps.staff_login, new_username("ghost")
    for _ in range(LOCK_AFTER_FAILURES - 1):
        assert await code_of(login.start(ghost, "Wrong-password-1", ip=None)) == "STAFF_LOGIN_FAILED"
    assert await code_of(login.start(ghost, "Wrong-password-1", ip=None)) == "STAFF_LOGIN_LOCKED"
    assert await code_of(login.start(ghost, "Anything-else-1", ip=None)) == "STAFF_LOGIN_LOCKED"


async def test_unknown_username_costs_the_time_of_a_real_one(deps: Dependencies) -> None:
    user, login = await make_staff(deps), deps.staff_login

    async def timed(username: str) -> float:
        started = time.perf_counter()
        await code_of(login.start(username, "Wrong-password-1", ip=None))
        return time.perf_counter() - started

    await timed(new_username("warm"))  # the dummy hash is made once per process
    known = statistics.median([await timed(user.username) for _ in range(3)])
    unknown = statistics.median([await timed(new_username("ghost")) for _ in range(3)])
    assert known > 0.005  # argon2 really ran
    assert 0.4 < unknown / known < 2.5, (known, unknown)


async def test_old_parameters_are_rehashed_on_login(deps: Dependencies) -> None:
    user = await make_staff(deps)
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    await deps.db["staff_accounts"].update_one({"_id": user.id}, {"$set": {"password.hash": weak}})
    assert deps.staff_login.passwords.needs_rehash(weak)
    await deps.staff_login.start(user.username, PASSWORD, ip=None)
    doc = await deps.db["staff_accounts"].find_one({"_id": user.id})
    assert doc["password"]["hash"] != weak and not deps.staff_login.passwords.needs_rehash(doc["password"]["hash"])
    assert await deps.staff_login.passwords.verify(doc["password"]["hash"], PASSWORD)


async def test_argon2_runs_off_the_event_loop() -> None:
    threads: list[str] = []

    class RecordingHasher(PasswordHasher):
        def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
            threads.append(threading.current_thread().name)
            return super().hash(password, salt=salt)

    # Heavier than production (~100 ms a hash) so that a hash on the loop would show as a gap far above noise.
    passwords = Passwords(RecordingHasher(time_cost=3, memory_cost=64 * 1024, parallelism=1))
    try:
        started = time.perf_counter()
        await passwords.hash("Warm-up-password")
        one_hash = time.perf_counter() - started

        gaps: list[float] = []
        done = asyncio.Event()

        async def ticker() -> None:
            last = time.perf_counter()
            while not done.is_set():
                await asyncio.sleep(0.002)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        ticking = asyncio.create_task(ticker())
        hashes = await asyncio.gather(*(passwords.hash(f"Password-{i}-xyz") for i in range(4)))
        done.set()
        await ticking
    finally:
        passwords.close()
    assert all(name.startswith("argon2") for name in threads) and threading.main_thread().name not in threads
    assert len(set(hashes)) == 4
    assert one_hash > 0.03 and len(gaps) >= 3 and max(gaps) < one_hash * 0.75, (one_hash, max(gaps))


async def test_login_ticket_is_bounded_and_bound_to_an_enabled_account(deps: Dependencies) -> None:
    login = deps.staff_login
    assert await code_of(login.verify("not-a-ticket", "123456", device="t", ip=None)) == "STAFF_LOGIN_TICKET_INVALID"
    assert await code_of(login.verify("A" * 43, "123456", device="t", ip=None)) == "STAFF_LOGIN_TICKET_INVALID"

    user = await make_staff(deps)
    ticket = (await login.start(user.username, PASSWORD, ip=None)).ticket
    codes = [await code_of(login.verify(ticket, f"{n:06d}", device="t", ip=None)) for n in range(6)]
    # SmsCodes burns the code after 5 wrong tries; the ticket itself allows 5 tries, then it is gone
    assert codes[:4] == ["SMS_CODE_INVALID"] * 4 and codes[4] == "SMS_CODE_TOO_MANY_TRIES"
    assert codes[5] == "STAFF_LOGIN_TICKET_INVALID"
    assert await deps.redis.exists(ticket_key(ticket)) == 0  # not resurrected without a TTL by the last try

    other = await make_staff(deps)
    ticket = (await login.start(other.username, PASSWORD, ip=None)).ticket
    await deps.staff_admin.staff.set_disabled(other.id, by="test")
    assert await code_of(login.verify(ticket, "123456", device="t", ip=None)) == "ACCOUNT_DISABLED"
    assert await code_of(login.verify(ticket, "123456", device="t", ip=None)) == "STAFF_LOGIN_TICKET_INVALID"


async def test_wechat_binding_is_unique_per_openid(deps: Dependencies) -> None:
    first, second, repo = await make_staff(deps), await make_staff(deps), deps.staff_admin.staff
    openid = "o" + new_username("wx")
    await repo.bind_wechat(first.id, app="mp", openid=openid)
    found = await repo.find_by_openid(app="mp", openid=openid)
    assert found is not None and found.id == first.id and found.wechat_bound
    assert await repo.find_by_openid(app="oa", openid=openid) is None
    with pytest.raises(DuplicateKeyError):
        await repo.bind_wechat(second.id, app="mp", openid=openid)
    with pytest.raises(ValueError):
        await repo.bind_wechat(second.id, app="wx", openid=openid)


async def test_wechat_binding_outcomes_unionid_and_unbinding(deps: Dependencies) -> None:
    first, second, repo = await make_staff(deps), await make_staff(deps), deps.staff_admin.staff
    openid, unionid = "o" + new_username("mp"), "u" + new_username("union")
    assert await repo.bind_wechat(first.id, app="mp", openid=openid, unionid=unionid) == "bound"
    assert await repo.bind_wechat(first.id, app="mp", openid=openid, unionid=unionid) == "same"
    assert await repo.bind_wechat(first.id, app="mp", openid="o" + new_username("x")) == "other"
    with pytest.raises(DuplicateKeyError):  # the unionid alone is enough: one person, one staff account
        await repo.bind_wechat(second.id, app="oa", openid="o" + new_username("oa"), unionid=unionid)
    assert "wechat_unionid_unique" in await deps.db["staff_accounts"].index_information()

    assert await repo.unbind_wechat(first.id) is True and await repo.unbind_wechat(first.id) is False
    assert await repo.find_by_openid(app="mp", openid=openid) is None
    account = await repo.get(first.id)
    assert account is not None and not account.wechat_bound
    assert await repo.bind_wechat(second.id, app="mp", openid=openid, unionid=unionid) == "bound"  # free again


async def test_set_password_only_replaces_the_hash_just_verified(deps: Dependencies) -> None:
    user, repo = await make_staff(deps, must_change_password=True), deps.staff_admin.staff
    stored = await repo.password_hash(user.id)
    assert stored is not None
    assert await repo.set_password(user.id, new_hash="$argon2id$first", expected_hash="$argon2id$stale") is False
    assert await repo.set_password(user.id, new_hash="$argon2id$first", expected_hash=stored) is True
    assert await repo.set_password(user.id, new_hash="$argon2id$second", expected_hash=stored) is False  # raced
    account = await repo.get(user.id)
    assert account is not None and account.must_change_password is False
    assert await repo.password_hash(user.id) == "$argon2id$first"


# -- the account behind every staff request, kept in Redis (core/record_cache.py) ---------------------------------
async def test_the_kept_account_follows_every_change_and_holds_no_secret(deps: Dependencies) -> None:
    user = await make_staff(deps)
    staff = deps.staff_admin.staff
    assert staff.accounts is not None
    first = await staff.get(user.id)
    kept = await staff.accounts.get(user.id)
    assert first is not None and kept is not None and kept["_id"] == user.id
    assert "hash" not in kept["password"] and set(kept["phone"]) == {"masked"}  # no hash, cipher or index
    assert await staff.set_roles(user.id, ("staff", "supervisor"), expected_version=first.version) is not None
    again = await staff.get(user.id)
    assert again is not None and again.roles == ("staff", "supervisor")  # not the kept account
    assert await staff.set_disabled(user.id, by="test") is not None
    refreshed = await staff.get(user.id)
    assert refreshed is not None and refreshed.disabled


async def test_a_read_begun_before_a_change_cannot_keep_the_older_account(deps: Dependencies) -> None:
    user = await make_staff(deps)
    staff = deps.staff_admin.staff
    assert staff.accounts is not None
    older = await deps.db["staff_accounts"].find_one({"_id": user.id})  # a read under way...
    assert older is not None
    await staff.set_roles(user.id, ("staff", "supervisor"), expected_version=older["version"])  # ...a change...
    await staff.accounts.put(user.id, older)  # ...and the read ends: its answer is not kept
    fresh = await staff.get(user.id)
    assert fresh is not None and fresh.roles == ("staff", "supervisor")
