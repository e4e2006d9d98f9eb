"""SecantusDB (the local MongoDB wire-protocol server) started with four fixes: its query planner, a read of its
index catalogue once per command instead of several times per document, its profiling settings remembered, and
a sorted find with a limit read in index order up to that limit.

SecantusDB 0.7.0b3 refuses to use any index for a filter with a top-level operator (`$and`, `$or`, …) and scans
the whole collection instead. Its own findAndModify writes with `{"_id": <matched id>, "$and": [<query>]}`, so
every `find_one_and_update` — order and bill transitions, case claims, counters, idempotency keys — read every
document of its collection: 11 ms at 1,000 documents, 34 ms at 4,000, seconds at the 100,000 cases of the
benchmarks, while `update_one` with the same query took 2 ms. Real MongoDB plans these by `_id`.

The fix: a filter that has plain fields next to its operators is planned by the plain fields alone. Top-level
fields of a MongoDB filter are conjunctive, so the documents they select are a superset of the answer, and the
server applies the whole filter to every candidate afterwards as it always does (`matches()` in its read and
write paths); only the choice of candidates changes, never the result. A filter of operators only is planned as
before.

The catalogue: for every document it writes, SecantusDB reads and decodes the collection's index catalogue from
WiredTiger three to six times (index list, partial filters, options for the geo check) — 60 % of the cost of
updating one notification message (1.9 ms, 0.8 ms without). Within one data command (find, insert, update,
delete, findAndModify, count, getMore) the catalogue does not change: index builds and drops are commands of
their own. So during such a command the catalogue read is remembered per collection, and forgotten when the
command ends — and at once when the command itself flags an index multikey (the only catalogue write a data
command makes; the planner must see it for the next statement). Nothing is remembered across commands.

The profiling settings (`db.setProfilingLevel`) are read from WiredTiger under the server's global lock for every
command, to decide whether to record it. They change only through the `profile` command (`set_profile`), so they
are remembered per database and dropped by every change; a read that began before a change does not keep its
older answer (a generation count decides).

The top k: SecantusDB answers every sorted find by fetching, decoding and matching every candidate the index
selects, sorting them all in Python and only then applying the limit. The staff inbox's first page
(`{department_code, state: {$in: [open, claimed]}}` by `due_at, _id`, 21 rows) cost 27 ms that way over a
department's 570 open tasks — 10 ms of it the sort — and every write to the department makes the next reader
pay it. MongoDB walks the `(department_code, state, due_at, _id)` index in order and stops at the limit. So does
this fix, when that is plainly the same answer (`top_k_plan`): a limit, no hint, collation or min/max; sort
fields that are plain names, the last `_id` (a total order: the first k are one set, ties cannot pick
differently); an index, neither multikey, sparse, partial, hidden nor collated, whose key is string equalities
of the filter (`field: "x"` or `field: {$in: ["x", "y"]}`) followed by exactly the sort, or all of it inverted.
Each equality combination's record ids come in index order; their documents are fetched a few at a time and
merged by the server's own sort key until `skip + limit` of them match the whole filter. Those few go back into
SecantusDB's own path, which applies the filter, the sort, skip, limit and projection as always: the set is
the same, only fewer documents are read. Anything else is planned as before.

Production runs real MongoDB (compose.yaml): this module is for the local server of `./dev run`, the tests and
the benchmarks, which start it in place of `secantusd-py` (devstack/servers.py).
"""

from __future__ import annotations

import heapq
import itertools
import sys
import threading
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import secantus.server
from secantus.cli import main
from secantus.ordering import _sort_value, _SortKey
from secantus.query import matches
from secantus.sortkey import COMPOUND_SEP, encode_value_directed
from secantus.storage import Storage


def plain_fields(query: dict[str, Any]) -> dict[str, Any] | None:
    """The plain-field part of a filter that also has top-level operators; None when there is nothing to change
    (no operator, or nothing but operators)."""
    if not query or not any(key.startswith("$") for key in query):
        return None
    plain = {key: value for key, value in query.items() if not key.startswith("$")}
    return plain or None


_plan_candidates = Storage._try_index_id_keys


def _plan_by_plain_fields(self: Storage, db: str, coll: str, filter: dict[str, Any], *,  # noqa: A002 - its name
                          collation: Any = None) -> list[bytes] | None:
    plain = plain_fields(filter)
    return _plan_candidates(self, db, coll, filter if plain is None else plain, collation=collation)


# -- the catalogue, read once per data command -------------------------------------------------------------------
DATA_COMMANDS = frozenset({"find", "getMore", "count", "insert", "update", "delete", "findAndModify"})
_command = threading.local()  # .catalogue: {(db, coll): [(name, key, options)]} while a data command runs
_read_catalogue = Storage._iter_indexes
_mark_multikey = Storage._maybe_mark_multikey
_dispatch = secantus.server.dispatch


def _catalogue(self: Storage, db: str, coll: str) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    remembered: dict[tuple[str, str], list[Any]] | None = getattr(_command, "catalogue", None)
    if remembered is None:
        return _read_catalogue(self, db, coll)
    entries = remembered.get((db, coll))
    if entries is None:
        entries = remembered[(db, coll)] = list(_read_catalogue(self, db, coll))
    return iter(entries)


def _mark_multikey_and_forget(self: Storage, db: str, coll: str, doc: Any, indexes: Any,
                              already_multikey: set[str]) -> set[str]:
    before = len(already_multikey)
    marked = _mark_multikey(self, db, coll, doc, indexes, already_multikey)
    remembered = getattr(_command, "catalogue", None)
    if remembered is not None and len(marked) != before:
        remembered.pop((db, coll), None)
    return marked


def _dispatch_remembering_catalogue(doc: dict[str, Any], ctx: Any) -> dict[str, Any]:
    if next(iter(doc), None) not in DATA_COMMANDS or getattr(_command, "catalogue", None) is not None:
        return _dispatch(doc, ctx)
    _command.catalogue = {}
    try:
        return _dispatch(doc, ctx)
    finally:
        _command.catalogue = None


# -- a sorted find with a limit: read in index order up to the limit --------------------------------------------
TOP_K_COMBINATIONS = 16  # equality combinations (the product of the `$in` lists) walked at most
FETCH_CHUNK = 32  # documents fetched at a time from one combination's ids


class TopK(NamedTuple):
    index: str
    prefixes: list[bytes]  # one per equality combination, in the index's encoding
    reverse: bool  # walk the index backwards (the sort is the index's order inverted)
    sort: list[tuple[str, bool]]  # (field, descending)
    need: int  # skip + limit


def _equalities(query: Mapping[str, Any]) -> dict[str, list[str]]:
    """Top-level string equalities of a filter: `f: "x"` → ["x"], `f: {$in: ["x", "y"]}` → the list."""
    found: dict[str, list[str]] = {}
    for field, value in query.items():
        if field.startswith("$"):
            continue
        if isinstance(value, str):
            found[field] = [value]
        elif (isinstance(value, Mapping) and list(value) == ["$in"] and isinstance(value["$in"], list)
              and value["$in"] and all(isinstance(v, str) for v in value["$in"])):
            found[field] = list(dict.fromkeys(value["$in"]))
    return found


def top_k_plan(indexes: list[tuple[str, Mapping[str, Any], Mapping[str, Any]]], query: Mapping[str, Any],
               sort: Mapping[str, Any] | None, need: int) -> TopK | None:
    """How to read the first `need` documents of `query` in `sort` order from one index, or None (see above).
    `indexes`: the collection's catalogue as (name, key spec, options)."""
    if need <= 0 or not sort:
        return None
    try:
        order = [(field, int(direction)) for field, direction in sort.items()]
    except (TypeError, ValueError):
        return None
    if (order[-1][0] != "_id" or any(d not in (1, -1) or "." in f or f.startswith("$") for f, d in order)
            or len({f for f, _ in order}) != len(order)):
        return None
    equal = _equalities(query)
    for name, key_spec, options in indexes:
        if any(options.get(flag) for flag in ("multikey", "sparse", "partialFilterExpression", "hidden",
                                              "collation")):
            continue
        try:
            key = [(field, int(direction)) for field, direction in key_spec.items()]
        except (TypeError, ValueError):
            continue
        head, tail = key[:len(key) - len(order)], key[len(key) - len(order):]
        if not head or any(f not in equal or d not in (1, -1) for f, d in head):
            continue
        if tail == order:
            reverse = False
        elif tail == [(f, -d) for f, d in order]:
            reverse = True
        else:
            continue
        combinations = list(itertools.islice(itertools.product(*(equal[f] for f, _ in head)),
                                             TOP_K_COMBINATIONS + 1))
        if len(combinations) > TOP_K_COMBINATIONS:
            return None
        prefixes = [COMPOUND_SEP.join(encode_value_directed(v, d) for v, (_, d) in zip(values, head, strict=True))
                    + COMPOUND_SEP for values in combinations]
        return TopK(name, prefixes, reverse, [(f, d == -1) for f, d in order], need)
    return None


_top_k = threading.local()  # .request: (filter, sort, skip + limit, let) of the find on this thread, used once
_find_matching = Storage.find_matching
_index_lookup = Storage._try_index_lookup


def _find_matching_top_k(self: Storage, db: str, coll: str, filter: dict[str, Any] | None = None,  # noqa: A002
                         *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
    wanted = (not args and kwargs.get("limit", 0) > 0 and kwargs.get("sort") and filter
              and all(kwargs.get(k) is None for k in ("hint", "collation", "min_bound", "max_bound")))
    if not wanted:
        return _find_matching(self, db, coll, filter, *args, **kwargs)
    _top_k.request = (filter, kwargs["sort"], kwargs.get("skip", 0) + kwargs["limit"], kwargs.get("let"))
    try:
        return _find_matching(self, db, coll, filter, *args, **kwargs)
    finally:
        _top_k.request = None


def _index_lookup_top_k(self: Storage, db: str, coll: str, filter: dict[str, Any], *,  # noqa: A002
                        collation: Any = None) -> list[dict[str, Any]] | None:
    request, _top_k.request = getattr(_top_k, "request", None), None
    if request is not None and request[0] is filter and collation is None:
        plan = top_k_plan(list(self._iter_indexes(db, coll)), filter, request[1], request[2])
        if plan is not None:
            return _first_in_order(self, db, coll, filter, plan, request[3])
    return _index_lookup(self, db, coll, filter, collation=collation)


def _first_in_order(self: Storage, db: str, coll: str, query: dict[str, Any], plan: TopK,
                    let: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The first `plan.need` documents matching `query` (with the command's `let` variables, as the server
    matches them) in sort order: one ordered stream per equality combination, merged. Runs under the server's
    lock, as the lookup it stands in for."""
    def stream(prefix: bytes) -> Iterator[dict[str, Any]]:
        ids = self._scan_index_for_id_keys(db, coll, plan.index, prefix, prefix=True)
        if plan.reverse:
            ids.reverse()
        for start in range(0, len(ids), FETCH_CHUNK):
            yield from self._docs_by_recordids(db, coll, ids[start:start + FETCH_CHUNK])

    def sort_key(doc: dict[str, Any]) -> tuple[_SortKey, ...]:
        return tuple(_SortKey(_sort_value(doc, field, descending), reverse=descending)
                     for field, descending in plan.sort)

    merged = heapq.merge(*(stream(prefix) for prefix in plan.prefixes), key=sort_key)
    return list(itertools.islice((doc for doc in merged if matches(doc, query, vars=let)), plan.need))


# -- profiling settings, remembered ------------------------------------------------------------------------------
_read_profile = Storage.get_profile
_write_profile = Storage.set_profile
_profiles: dict[str, dict[str, Any]] = {}
_profile_changes = [0]  # how many `set_profile` calls have ended: a read that spans one is not remembered


def _profile(self: Storage, db: str) -> dict[str, Any]:
    known = _profiles.get(db)
    if known is None:
        changes = _profile_changes[0]
        known = _read_profile(self, db)
        if _profile_changes[0] == changes:
            _profiles[db] = known
    return dict(known)


def _set_profile(self: Storage, db: str, **settings: Any) -> None:
    try:
        _write_profile(self, db, **settings)
    finally:
        _profile_changes[0] += 1
        _profiles.clear()


def install() -> None:
    Storage._try_index_id_keys = _plan_by_plain_fields  # type: ignore[method-assign]
    Storage._iter_indexes = _catalogue  # type: ignore[method-assign]
    Storage._maybe_mark_multikey = _mark_multikey_and_forget  # type: ignore[method-assign]
    secantus.server.dispatch = _dispatch_remembering_catalogue  # type: ignore[assignment]
    Storage.get_profile = _profile  # type: ignore[method-assign]
    Storage.set_profile = _set_profile  # type: ignore[method-assign]
    Storage.find_matching = _find_matching_top_k  # type: ignore[method-assign]
    Storage._try_index_lookup = _index_lookup_top_k  # type: ignore[method-assign]


if __name__ == "__main__":
    install()
    sys.exit(main())
