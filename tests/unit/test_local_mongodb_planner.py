"""The planner fix the local MongoDB server starts with (devstack/secantusd.py): which filters it plans
differently, and a guard that fails when a SecantusDB upgrade moves the function it replaces."""

from __future__ import annotations

import inspect

import secantus.commands
from secantus.storage import Storage

from devstack.secantusd import (
    DATA_COMMANDS,
    _dispatch,
    _mark_multikey,
    _read_catalogue,
    _read_profile,
    _write_profile,
    plain_fields,
)
from devstack.servers import mongodb_command


def test_filters_with_operators_are_planned_by_their_plain_fields() -> None:
    # findAndModify's own write filter: the matched _id, the query re-asserted under $and
    assert plain_fields({"_id": "o1", "$and": [{"state": {"$in": ["paying"]}, "payment": None}]}) == {"_id": "o1"}
    assert plain_fields({"state": "created", "$or": [{"a": 1}, {"b": 2}]}) == {"state": "created"}


def test_other_filters_are_left_to_the_server() -> None:
    assert plain_fields({"_id": "o1", "state": "paying"}) is None  # no operator: the server plans it well
    assert plain_fields({"$or": [{"a": 1}, {"b": 2}]}) is None  # operators only: nothing safe to plan by
    assert plain_fields({}) is None


def test_the_replaced_planner_still_has_the_shape_the_fix_wraps() -> None:
    params = list(inspect.signature(Storage._try_index_id_keys).parameters.values())
    assert [p.name for p in params] == ["self", "db", "coll", "filter", "collation"]
    assert params[-1].kind is inspect.Parameter.KEYWORD_ONLY


def test_the_local_stack_starts_the_server_with_the_fix() -> None:
    assert mongodb_command(27017, ":memory:")[1:3] == ["-m", "devstack.secantusd"]



def test_the_catalogue_functions_the_fix_wraps_still_have_their_shape() -> None:
    # the originals, as the module kept them before `install()` replaces them
    assert list(inspect.signature(_read_catalogue).parameters) == ["self", "db", "coll"]
    assert list(inspect.signature(_mark_multikey).parameters) == [
        "self", "db", "coll", "doc", "indexes", "already_multikey"]
    assert list(inspect.signature(_dispatch).parameters) == ["doc", "ctx"]
    handlers = inspect.getsource(secantus.commands)
    assert all(f'"{name}"' in handlers for name in DATA_COMMANDS)  # command names as the server spells them


def test_the_profile_functions_the_fix_wraps_still_have_their_shape() -> None:
    assert list(inspect.signature(_read_profile).parameters) == ["self", "db"]
    params = inspect.signature(_write_profile).parameters
    assert list(params) == ["self", "db", "level", "slowms", "sample_rate"]
    assert all(params[name].kind is inspect.Parameter.KEYWORD_ONLY for name in ("level", "slowms", "sample_rate"))
