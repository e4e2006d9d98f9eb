"""The local server's top-k fix (devstack/secantusd.py): a sorted find with a limit read in index order up to the
limit. Which finds it plans (pure), and — on an in-process SecantusDB holding the same documents — that every
answer equals the one SecantusDB's own path gives, for random data of mixed types and random filters, sorts,
skips and limits, while the inbox-shaped find reads a few documents instead of all of them."""

from __future__ import annotations

import inspect
import random
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from secantus.commands import _resolve_let_vars
from secantus.storage import Storage

from devstack.secantusd import (
    _find_matching,
    _find_matching_top_k,
    _index_lookup,
    _index_lookup_top_k,
    top_k_plan,
)

INBOX = ("inbox", {"department_code": 1, "state": 1, "due_at": 1, "_id": 1}, {})
MINE = ("mine", {"applicant": 1, "_id": -1}, {})
INBOX_QUERY = {"department_code": "d1", "state": {"$in": ["open", "claimed"]}}
BY_DUE = {"due_at": 1, "_id": 1}


# -- which finds are planned ----------------------------------------------------------------------------------------
def test_the_inbox_and_my_cases_shapes_are_read_in_index_order() -> None:
    plan = top_k_plan([INBOX], INBOX_QUERY, BY_DUE, 21)
    assert plan is not None and plan.index == "inbox" and not plan.reverse and plan.need == 21
    assert len(plan.prefixes) == 2  # one ordered stream per state
    mine = top_k_plan([MINE], {"applicant": "p1", "_id": {"$lt": "c9"}}, {"_id": -1}, 21)
    assert mine is not None and not mine.reverse and len(mine.prefixes) == 1
    inverted = top_k_plan([INBOX], INBOX_QUERY, {"due_at": -1, "_id": -1}, 5)
    assert inverted is not None and inverted.reverse


@pytest.mark.parametrize(("indexes", "query", "sort", "need"), [
    ([INBOX], INBOX_QUERY, BY_DUE, 0),  # no limit: every row is wanted
    ([INBOX], INBOX_QUERY, {"due_at": 1}, 21),  # ties could pick differently: the sort must end with _id
    ([INBOX], INBOX_QUERY, {"due_at": 1, "_id": -1}, 21),  # neither the index's order nor its inverse
    ([INBOX], {"department_code": "d1"}, BY_DUE, 21),  # a gap in the key: state not pinned
    ([INBOX], {"department_code": "d1", "state": {"$ne": "done"}}, BY_DUE, 21),
    ([INBOX], {"department_code": 7, "state": "open"}, BY_DUE, 21),  # only strings are pinned
    ([INBOX], {"department_code": {"$in": [f"d{i}" for i in range(5)]}, "state": {"$in": list("abcd")}},
     BY_DUE, 21),  # 20 combinations: more than are walked
    ([("inbox", INBOX[1], {"multikey": True})], INBOX_QUERY, BY_DUE, 21),
    ([("inbox", INBOX[1], {"sparse": True})], INBOX_QUERY, BY_DUE, 21),
    ([("inbox", INBOX[1], {"partialFilterExpression": {"state": "open"}})], INBOX_QUERY, BY_DUE, 21),
    ([("inbox", INBOX[1], {"collation": {"locale": "zh"}})], INBOX_QUERY, BY_DUE, 21),
    ([("inbox", INBOX[1], {"hidden": True})], INBOX_QUERY, BY_DUE, 21),
    ([("nested", {"a": 1, "due.at": 1, "_id": 1}, {})], {"a": "x"}, {"due.at": 1, "_id": 1}, 21),
])
def test_other_finds_are_left_to_the_server(indexes: list[Any], query: dict[str, Any], sort: dict[str, Any],
                                            need: int) -> None:
    assert top_k_plan(indexes, query, sort, need) is None


def test_the_functions_the_fix_wraps_still_have_their_shape() -> None:
    find = inspect.signature(_find_matching).parameters
    assert list(find)[:4] == ["self", "db", "coll", "filter"]
    assert {"skip", "limit", "sort", "hint", "let", "collation", "min_bound", "max_bound"} <= set(find)
    assert list(inspect.signature(_index_lookup).parameters) == ["self", "db", "coll", "filter", "collation"]
    assert list(inspect.signature(Storage._scan_index_for_id_keys).parameters) == [
        "self", "db", "coll", "name", "kb", "prefix"]
    assert list(inspect.signature(Storage._docs_by_recordids).parameters) == ["self", "db", "coll", "recordids"]


# -- the same answers, fewer documents read -------------------------------------------------------------------------
class WithTopK(Storage):
    """SecantusDB with the fix on this class only: the test process's other servers are left alone."""

    find_matching = _find_matching_top_k  # type: ignore[assignment]
    _try_index_lookup = _index_lookup_top_k  # type: ignore[assignment]

    fetched = 0

    def _docs_by_recordids(self, db: str, coll: str, recordids: list[int]) -> list[dict[str, Any]]:
        self.fetched += len(recordids)
        return super()._docs_by_recordids(db, coll, recordids)


START = datetime(2026, 12, 1, 8, 0)
DUE_VALUES = [None, 3, 3.5, "soon", START, START + timedelta(hours=5), START + timedelta(days=2)]


def make_storage() -> WithTopK:
    storage = WithTopK(":memory:", enable_oplog=False)
    rng = random.Random(20261203)
    docs = []
    for n in rng.sample(range(600), 600):
        doc: dict[str, Any] = {"_id": f"t{n:04d}", "department_code": rng.choice(["d1", "d2", "d3"]),
                               "state": rng.choice(["open", "claimed", "done"]), "n": n}
        if rng.random() < 0.9:  # some without a due date at all: they sort as null
            doc["due_at"] = rng.choice(DUE_VALUES) if rng.random() < 0.3 else START + timedelta(minutes=rng.randrange(9000))
        docs.append(doc)
    storage.insert("db", "tasks", docs)
    storage.create_index("db", "tasks", "inbox", INBOX[1])
    return storage


STORAGE = make_storage()
LET = _resolve_let_vars(None)  # the find command always passes the system variables ($$NOW, …)


def find_command(query: dict[str, Any], **options: Any) -> list[dict[str, Any]]:
    """`find_matching` called as the server's find command calls it."""
    return STORAGE.find_matching("db", "tasks", query, projection=None, hint=None, let=LET, collation=None,
                                 min_bound=None, max_bound=None, **{"skip": 0, **options})
values = st.sampled_from(["d1", "d2", "d3", "d9"])
states = st.sampled_from(["open", "claimed", "done"])


@st.composite
def finds(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, int], int, int]:
    query: dict[str, Any] = {
        "department_code": draw(st.one_of(values, st.lists(values, min_size=1, max_size=3).map(lambda v: {"$in": v}))),
        "state": draw(st.one_of(states, st.lists(states, min_size=1, max_size=3).map(lambda v: {"$in": v}))),
    }
    extra = draw(st.sampled_from(["none", "range", "or", "n"]))
    if extra == "range":
        query["due_at"] = {"$gte": START + timedelta(minutes=draw(st.integers(0, 9000)))}
    elif extra == "or":  # a cursor page's shape
        query["$or"] = [{"n": {"$lt": draw(st.integers(0, 600))}}, {"_id": {"$gt": "t0500"}}]
    elif extra == "n":
        query["n"] = {"$mod": [draw(st.integers(2, 5)), 0]}
    direction = draw(st.sampled_from([1, -1]))
    sort = {"due_at": direction, "_id": direction * draw(st.sampled_from([1, 1, -1]))}
    return query, sort, draw(st.integers(0, 6)), draw(st.integers(1, 40))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(finds())
def test_every_answer_is_the_one_the_server_gives_without_the_fix(find: tuple[Any, ...]) -> None:
    query, sort, skip, limit = find
    fixed = find_command(query, skip=skip, limit=limit, sort=sort)
    everything = _find_matching(STORAGE, "db", "tasks", query, sort=sort, let=LET)  # its own path, no limit
    assert fixed == everything[skip:skip + limit]
    assert fixed == _find_matching(STORAGE, "db", "tasks", query, skip=skip, limit=limit, sort=sort, let=LET)


def test_the_inbox_first_page_reads_a_few_documents_not_all() -> None:
    query = {"department_code": "d1", "state": {"$in": ["open", "claimed"]}}
    candidates = len(_find_matching(STORAGE, "db", "tasks", query))
    STORAGE.fetched = 0
    page = find_command(query, limit=21, sort=BY_DUE)
    assert len(page) == 21 and candidates > 100
    assert STORAGE.fetched <= 2 * 32  # a chunk per state stream, instead of every candidate
    STORAGE.fetched = 0
    find_command(query, limit=21, sort={"due_at": 1})  # not planned: the sort does not end with _id
    assert STORAGE.fetched == candidates
