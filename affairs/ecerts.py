"""E-certificates (电子证照) a person holds: reused instead of uploading (免提交), issued when a case completes.

A material whose guide names an e-certificate type may be satisfied by a reference to a certificate of that type
held by the applicant; staff see the certificate record instead of a photo of the paper. Certificates issued by
our own completions are recorded here (one per completed case, so a retried completion issues nothing twice);
the wider provincial e-certificate library is another adapter, not this collection.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.client_session import AsyncClientSession

from affairs.ecert_types import ECERT_TYPES
from core.ids import new_id
from core.mongo import Repository


class EcertRepository(Repository):
    collection_name = "ecerts"
    indexes = (
        IndexModel([("holder_person_id", ASCENDING), ("type", ASCENDING), ("_id", DESCENDING)], name="holder_type"),
        IndexModel([("source_case_id", ASCENDING)], unique=True, name="source_case_unique",
                   partialFilterExpression={"source_case_id": {"$type": "string"}}),
    )

    async def issue(self, *, holder_person_id: str, type_: str, issuer: str, title: str, now: datetime,
                    source_case_id: str | None, session: AsyncClientSession | None = None) -> dict[str, Any]:
        doc = {"_id": new_id(), "holder_person_id": holder_person_id, "type": type_,
               "type_name": ECERT_TYPES[type_].name if type_ in ECERT_TYPES else type_, "title": title, "issuer": issuer,
               "number": "ZZ" + now.strftime("%Y%m%d") + new_id()[-10:], "issued_at": now,
               "source_case_id": source_case_id, "revoked": False}
        await self.collection.insert_one(doc, session=session)
        return doc

    async def held_by(self, person_id: str, types: list[str] | None = None) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"holder_person_id": person_id, "revoked": False}
        if types is not None:
            query["type"] = {"$in": types}
        return [doc async for doc in self.collection.find(query).sort("_id", DESCENDING).limit(200)]

    async def get_held(self, person_id: str, ecert_id: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": ecert_id, "holder_person_id": person_id, "revoked": False})


def public(doc: dict[str, Any]) -> dict[str, Any]:
    return {"id": doc["_id"], "type": doc["type"], "type_name": doc["type_name"], "title": doc["title"],
            "issuer": doc["issuer"], "number": doc["number"], "issued_at": doc["issued_at"]}
