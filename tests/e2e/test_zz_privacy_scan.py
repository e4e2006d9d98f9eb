"""After everything else has run: no collection and no captured log line holds a plaintext ID or phone number.

Marked `runs_last` (see conftest.py), so it sees what every other test of the session wrote.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from bson import json_util

from config.wiring import Dependencies
from core.masking import find_unmasked


@pytest.mark.runs_last
async def test_no_plaintext_personal_numbers_in_the_database(deps: Dependencies) -> None:
    leaks: dict[str, list[str]] = {}
    for name in await deps.db.list_collection_names():
        async for doc in deps.db[name].find({}):
            found = find_unmasked(json_util.dumps(doc, ensure_ascii=False))
            if found:
                leaks.setdefault(name, []).extend(found)
    assert not leaks, f"plaintext personal numbers stored in: { {k: len(v) for k, v in leaks.items()} }"


@pytest.mark.runs_last
async def test_no_plaintext_personal_numbers_in_the_logs(log_path: Path) -> None:
    text = await asyncio.to_thread(log_path.read_text, encoding="utf-8")
    assert text.count("\n") > 100  # the session really logged (requests, logins, bindings)
    assert find_unmasked(text) == []
