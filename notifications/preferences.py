"""Per-person channel preferences: which channels may carry notifications to this person.

Kept apart from the `people` document (accounts owns that) and read in bulk by the fan-out. A person with no
document has the defaults (every channel on). The in-app notification centre cannot be switched off: it is
where everything lands, so turning every channel off means "only in the app", not "tell me nothing".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.clock import bson_time
from core.mongo import Repository


@dataclass(frozen=True, slots=True)
class Preferences:
    wechat: bool = True
    sms: bool = True

    @classmethod
    def from_doc(cls, doc: dict[str, Any] | None) -> Preferences:
        return cls(wechat=bool(doc.get("wechat", True)), sms=bool(doc.get("sms", True))) if doc else cls()


class PreferenceRepository(Repository):
    collection_name = "notification_preferences"
    indexes = ()  # keyed by `<kind>:<id>`; the _id index is all it needs

    async def get(self, kind: str, recipient_id: str) -> Preferences:
        return Preferences.from_doc(await self.collection.find_one({"_id": f"{kind}:{recipient_id}"}))

    async def get_many(self, keys: list[str]) -> dict[str, Preferences]:
        found = {doc["_id"]: Preferences.from_doc(doc) async for doc in self.collection.find({"_id": {"$in": keys}})}
        return {key: found.get(key, Preferences()) for key in keys}

    async def set(self, kind: str, recipient_id: str, prefs: Preferences) -> Preferences:
        await self.collection.update_one(
            {"_id": f"{kind}:{recipient_id}"},
            {"$set": {"wechat": prefs.wechat, "sms": prefs.sms, "updated_at": bson_time()}}, upsert=True,
        )
        return prefs
