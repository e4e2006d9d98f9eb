"""SecantusDB (the local MongoDB wire-protocol server) started with three fixes: its query planner, a read of its
index catalogue once per command instead of several times per document, and its profiling settings remembered.

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

Production runs real MongoDB (compose.yaml): this module is for the local server of `./dev run`, the tests and
the benchmarks, which start it in place of `secantusd-py` (devstack/servers.py).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from typing import Any

import secantus.server
from secantus.cli import main
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


if __name__ == "__main__":
    install()
    sys.exit(main())
