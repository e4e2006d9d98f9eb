"""Repositories against the real MongoDB wire-protocol server: idempotent indexes, idempotency keys."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import IndexModel

from config.wiring import REPOSITORIES, Dependencies
from core.errors import AppError
from core.idempotency import IdempotencyRepository, StoredAnswer, fingerprint
from core.ids import new_id
from core.mongo import IndexDefinitionConflict, Repository, ensure_all_indexes


async def test_index_creation_is_idempotent(deps: Dependencies) -> None:
    first = await ensure_all_indexes(deps.db, REPOSITORIES)
    second = await ensure_all_indexes(deps.db, REPOSITORIES)
    assert first == second
    info = await deps.db["idempotency_keys"].index_information()
    assert info["scope_key_unique"]["unique"] is True
    assert info["created_at_ttl"]["expireAfterSeconds"] == 86400


async def test_changed_index_definition_fails_loudly(deps: Dependencies) -> None:
    class Widgets(Repository):
        collection_name = f"widgets_{new_id()}"
        indexes = (IndexModel([("code", 1)], unique=True, name="code_idx"),)

    class WidgetsChanged(Widgets):
        indexes = (IndexModel([("code", 1)], unique=False, name="code_idx", sparse=True),)

    await Widgets(deps.db).ensure_indexes()
    with pytest.raises(IndexDefinitionConflict):
        await WidgetsChanged(deps.db).ensure_indexes()


async def test_idempotency_same_key_same_body_returns_first_answer(deps: Dependencies) -> None:
    repo = IdempotencyRepository(deps.db)
    scope, key = f"person:{new_id()}", new_id()
    print_ = fingerprint("POST", "/api/v1/things", b'{"a": 1, "b": 2}')
    assert await repo.claim(scope, key, print_) is None
    await repo.complete(scope, key, StoredAnswer(201, {"id": "X"}))
    same = fingerprint("POST", "/api/v1/things", b'{"b":2,"a":1}')  # same JSON, other spelling
    assert await repo.claim(scope, key, same) == StoredAnswer(201, {"id": "X"})


async def test_idempotency_other_body_is_refused(deps: Dependencies) -> None:
    repo = IdempotencyRepository(deps.db)
    scope, key = f"person:{new_id()}", new_id()
    await repo.claim(scope, key, fingerprint("POST", "/x", b'{"a":1}'))
    with pytest.raises(AppError) as caught:
        await repo.claim(scope, key, fingerprint("POST", "/x", b'{"a":2}'))
    assert caught.value.error.code == "IDEMPOTENCY_KEY_REUSED"


async def test_idempotency_concurrent_claims_let_exactly_one_run(deps: Dependencies) -> None:
    repo = IdempotencyRepository(deps.db)
    scope, key, print_ = f"person:{new_id()}", new_id(), fingerprint("POST", "/x", b"{}")
    results = await asyncio.gather(*(repo.claim(scope, key, print_) for _ in range(8)), return_exceptions=True)
    winners = [r for r in results if r is None]
    losers = [r for r in results if isinstance(r, AppError)]
    assert len(winners) == 1
    assert len(losers) == 7 and all(r.error.code == "IDEMPOTENCY_IN_PROGRESS" for r in losers)


async def test_idempotency_released_or_stale_claims_can_be_retried(deps: Dependencies) -> None:
    repo = IdempotencyRepository(deps.db)
    scope, key, print_ = f"person:{new_id()}", new_id(), fingerprint("POST", "/x", b"{}")
    await repo.claim(scope, key, print_)
    await repo.release(scope, key)
    assert await repo.claim(scope, key, print_) is None
    # a claim left by a crashed process is taken over once its lease has passed
    await repo.collection.update_one(
        {"scope": scope, "key": key}, {"$set": {"claimed_at": datetime.now(UTC) - timedelta(minutes=5)}}
    )
    assert await repo.claim(scope, key, print_) is None
