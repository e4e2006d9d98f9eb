"""The materials of a case against the guide: one set of materials (一套材料), each uploaded, reused from an
e-certificate (免提交) or, where the guide allows, promised for later (容缺). Pure: callers load what it needs."""

from __future__ import annotations

from typing import Any

from affairs.case_inputs import MaterialChoice
from core.errors import FieldError


def material_docs(guide_materials: list[dict[str, Any]], choices: list[MaterialChoice],
                  ecerts: dict[str, dict[str, Any]]) -> tuple[list[dict[str, Any]], list[FieldError]]:
    """The case's `materials` array (one entry per guide material) and every problem of the choices.

    `ecerts` are the applicant's certificates by id. Completeness of required materials is `missing()`'s job,
    so a draft can be saved half-done."""
    errors: list[FieldError] = []
    by_index: dict[int, MaterialChoice] = {}
    for position, choice in enumerate(choices):
        where = f"materials.{position}"
        if choice.index >= len(guide_materials):
            errors.append(FieldError(where + ".index", "UNKNOWN_MATERIAL", "指南中没有这项材料"))
            continue
        if choice.index in by_index:
            errors.append(FieldError(where + ".index", "DUPLICATE", "同一项材料只能出现一次"))
            continue
        by_index[choice.index] = choice
        guide = guide_materials[choice.index]
        if choice.ecert_id is not None:
            cert = ecerts.get(choice.ecert_id)
            if not guide.get("ecert_type"):
                errors.append(FieldError(where + ".ecert_id", "ECERT_NOT_ACCEPTED", "这项材料不能以电子证照代替"))
            elif cert is None or cert["type"] != guide["ecert_type"]:
                errors.append(FieldError(where + ".ecert_id", "ECERT_NOT_FOUND",
                                         "电子证照不存在、不属于申请人或类型不符"))
        if choice.promise is not None and not guide.get("defer_allowed"):
            errors.append(FieldError(where + ".promise", "DEFER_NOT_ALLOWED", "这项材料不可容缺，须提交"))
    docs = []
    for index, guide in enumerate(guide_materials):
        choice = by_index.get(index)
        cert = ecerts.get(choice.ecert_id) if choice and choice.ecert_id else None
        docs.append({
            "index": index, "name": guide["name"], "required": guide["required"],
            "defer_allowed": guide.get("defer_allowed", False), "ecert_type": guide.get("ecert_type"),
            "document_ids": list(choice.document_ids) if choice else [],
            "ecert": {"id": cert["_id"], "type": cert["type"], "number": cert["number"], "title": cert["title"]}
            if cert else None,
            "promise": choice.promise if choice and guide.get("defer_allowed") else None,
        })
    return docs, errors


def missing(materials: list[dict[str, Any]]) -> list[FieldError]:
    """Required materials with nothing provided and no promise: all of them, for one answer."""
    return [
        FieldError(f"materials.{m['index']}", "MATERIAL_MISSING",
                   f"{m['name']}：请上传材料" + ("或引用电子证照" if m.get("ecert_type") else "")
                   + ("，或作出容缺承诺" if m.get("defer_allowed") else ""))
        for m in materials
        if m["required"] and not m["document_ids"] and not m["ecert"] and not m["promise"]
    ]


def deferred(materials: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Materials accepted on a promise (容缺): nothing provided yet, a promise given."""
    return [{"index": m["index"], "name": m["name"], "promise": m["promise"]}
            for m in materials if m["promise"] and not m["document_ids"] and not m["ecert"]]


def changed_targets(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> set[str]:
    """`materials.N` for each material whose provided documents, certificate or promise changed."""
    def key(m: dict[str, Any]) -> tuple[Any, ...]:
        return (tuple(m["document_ids"]), (m["ecert"] or {}).get("id"), m["promise"])
    old = {m["index"]: key(m) for m in before}
    return {f"materials.{m['index']}" for m in after if old.get(m["index"]) != key(m)}
