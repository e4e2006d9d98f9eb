"""SecantusDB (the local MongoDB wire-protocol server) started with one fix to its query planner.

SecantusDB 0.7.0b3 refuses to use any index for a filter with a top-level operator (`$and`, `$or`, …) and scans
the whole collection instead. Its own findAndModify writes with `{"_id": <matched id>, "$and": [<query>]}`, so
every `find_one_and_update` — order and bill transitions, case claims, counters, idempotency keys — read every
document of its collection: 11 ms at 1,000 documents, 34 ms at 4,000, seconds at the 100,000 cases of the
benchmarks, while `update_one` with the same query took 2 ms. Real MongoDB plans these by `_id`.

The fix: a filter that has plain fields next to its operators is planned by the plain fields alone. Top-level
fields of a MongoDB filter are conjunctive, so the documents they select are a superset of the answer, and the
server applies the whole filter to every candidate afterwards as it always does (`matches()` in its read and
write paths); only the choice of candidates changes, never the result. A filter of operators only is planned as
before. Production runs real MongoDB (compose.yaml): this module is for the local server of `./dev run`, the
tests and the benchmarks, which start it in place of `secantusd-py` (devstack/servers.py).
"""

from __future__ import annotations

import sys
from typing import Any

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


def install() -> None:
    Storage._try_index_id_keys = _plan_by_plain_fields  # type: ignore[method-assign]


if __name__ == "__main__":
    install()
    sys.exit(main())
