"""The demo catalogue, one source for `./dev run` and for the tests: 长沙市 with 宁乡市 and 岳麓区, 3 towns,
4 villages/communities, 14 departments and 35 matters with complete guides (`demo_matters_*.py`), enough for the
bundles of later issues (出生一件事, 入学一件事, 开办企业).

`seed_catalogue` is idempotent: regions and departments are upserted by code; a matter is created and published
when missing, left alone when its live version already says exactly what the demo says, and otherwise published
as a new version (so a corrected demo guide reaches a running database without wiping it). It goes through the
same validation and lifecycle as staff edits, as the system actor, so the demo data is proof that the rules
accept realistic guides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog

from affairs.demo_kit import DEPARTMENTS, REGIONS
from affairs.demo_matters_birth import BIRTH_MATTERS
from affairs.demo_matters_business import BUSINESS_MATTERS
from affairs.demo_matters_housing import HOUSING_MATTERS
from affairs.demo_matters_living import LIVING_MATTERS
from affairs.demo_matters_school import SCHOOL_MATTERS
from affairs.matter_access import SYSTEM_ACTOR
from affairs.matter_model import MatterGuide
from affairs.matters import DraftState, MatterAdmin

if TYPE_CHECKING:
    from config.wiring import Dependencies

log = structlog.get_logger(__name__)

DEMO_MATTERS: list[dict[str, Any]] = [
    *BIRTH_MATTERS, *SCHOOL_MATTERS, *BUSINESS_MATTERS, *HOUSING_MATTERS, *LIVING_MATTERS,
]


@dataclass
class SeedReport:
    regions: int = 0
    departments: int = 0
    matters: dict[str, list[str]] = field(default_factory=lambda: {"created": [], "updated": [], "unchanged": []})


async def seed_catalogue(deps: Dependencies) -> SeedReport:
    """Regions, departments and every demo matter, published. Safe to run at every start-up."""
    catalogue, report = deps.catalogue, SeedReport()
    for code, name, parent, former in REGIONS:
        await catalogue.regions.upsert(code, name, parent, former)
        report.regions += 1
    for department in DEPARTMENTS:
        await catalogue.departments.upsert(department)
        report.departments += 1
    for raw in DEMO_MATTERS:
        outcome = await _ensure_published(catalogue.admin, raw)
        report.matters[outcome].append(raw["code"])
    log.info("catalogue_seeded", regions=report.regions, departments=report.departments,
             **{key: len(codes) for key, codes in report.matters.items()})
    return report


async def _ensure_published(admin: MatterAdmin, raw: dict[str, Any]) -> str:
    code = raw["code"]
    guide = {key: value for key, value in raw.items() if key != "code"}
    doc = await admin.matters.get(code)
    if doc is None:
        await admin.create(SYSTEM_ACTOR, raw)
        await admin.submit(SYSTEM_ACTOR, code)
        await admin.publish(SYSTEM_ACTOR, code)
        return "created"
    if doc.get("listed") and not doc.get("draft"):
        live = await admin.versions.get(code, doc["published"]["version"])
        if live and live["guide"] == MatterGuide.model_validate(guide).model_dump(mode="json"):
            return "unchanged"
    draft = doc.get("draft") or {}
    if draft.get("state") != DraftState.PUBLISHING:
        await admin.edit(SYSTEM_ACTOR, code, guide)
        await admin.submit(SYSTEM_ACTOR, code)
    await admin.publish(SYSTEM_ACTOR, code)
    return "updated"
