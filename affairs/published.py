"""What publishing produces: the frozen version document, its ETag, and the listing fields of the live guide.

The ETag is a hash of everything a version says (code, number, guide, and the department and region as they
were named when it was published) and nothing about the act of publishing (time, who), so a retried publish of
the same draft yields the same ETag and is recognised as the same version.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from affairs.departments import Department
from affairs.matter_model import MAX_VISITS, MatterGuide
from affairs.matter_repository import MatterVersionRepository
from affairs.regions import Region
from affairs.search_terms import compute_terms


def etag_of(body: dict[str, Any]) -> str:
    """A strong ETag (quoted) of a version's content."""
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return '"' + f"v{body['version']}-" + hashlib.sha256(canonical.encode()).hexdigest()[:24] + '"'


def build_version(code: str, version: int, guide: MatterGuide, department: Department, region: Region,
                  published_by: str, now: datetime) -> dict[str, Any]:
    body = {
        "matter_code": code,
        "version": version,
        "guide": guide.model_dump(mode="json", exclude={"code"}),
        "department": {"code": department.code, "name": department.name, "phone": department.phone,
                       "address": department.address},
        "region": {"code": region.code, "name": region.name},
    }
    return {"_id": MatterVersionRepository.key(code, version), **body, "etag": etag_of(body),
            "published_at": now, "published_by": published_by}


def card_of(version_doc: dict[str, Any]) -> dict[str, Any]:
    """The list item of a version: what a result row shows without opening the guide."""
    guide = version_doc["guide"]
    fee = guide["fee"]
    return {
        "code": version_doc["matter_code"], "version": version_doc["version"], "name": guide["name"],
        "type": guide["type"], "summary": guide["summary"][:80],
        "department": {"code": version_doc["department"]["code"], "name": version_doc["department"]["name"]},
        "region": version_doc["region"], "targets": guide["targets"], "online_depth": guide["online_depth"],
        "max_visits": MAX_VISITS[guide["online_depth"]], "promised_days": guide["promised_days"],
        "instant": guide["instant"], "free": fee["free"], "fee_fen": fee["amount_fen"], "tongban": guide["tongban"],
        "life_events": guide["life_events"], "themes": guide["themes"],
    }


async def listing_fields(version_doc: dict[str, Any], guide: MatterGuide) -> dict[str, Any]:
    """The `published` sub-document of the matter: filter fields, search terms (jieba in a thread), card."""
    terms = await compute_terms(guide.name, guide.keywords)
    return {
        "version": version_doc["version"], "etag": version_doc["etag"], "published_at": version_doc["published_at"],
        "department_code": guide.department_code, "region_code": guide.region_code,
        "life_events": guide.life_events, "themes": guide.themes, "online_depth": guide.online_depth.value,
        "terms": terms.terms, "name_terms": terms.name_terms, "sort_key": terms.sort_key,
        "card": card_of(version_doc),
    }


def render_version(version_doc: dict[str, Any]) -> dict[str, Any]:
    """The public JSON of a version (the guide a resident reads). Who published it stays internal."""
    guide = version_doc["guide"]
    return {
        "code": version_doc["matter_code"], "version": version_doc["version"], "etag": version_doc["etag"],
        "published_at": version_doc["published_at"], **guide,
        "max_visits": MAX_VISITS[guide["online_depth"]],
        "department": version_doc["department"], "region": version_doc["region"],
    }
