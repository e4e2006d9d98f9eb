"""Exporting the published catalogue to xlsx, in exactly the import layout.

What is exported is what residents read: the live published version of every listed matter in scope (a
department admin: their department; a supervisor: every matter whose region lies in their subtree, or one
department inside it). Re-importing the file unchanged validates clean and changes nothing (every row is
"unchanged"), which is how the round trip is tested. The workbook is built in a worker thread, at most two at a
time per process, so a large export neither blocks the IOLoop nor takes every core.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from accounts.roles import Role
from accounts.scopes import Actor
from affairs.departments import DepartmentRepository
from affairs.matter_access import authorize_catalogue_export
from affairs.matter_repository import MatterRepository, MatterVersionRepository
from affairs.matter_sheet_write import build_workbook
from affairs.regions import RegionRepository

_CHINA = ZoneInfo("Asia/Shanghai")


@dataclass
class CatalogueExport:
    matters: MatterRepository
    versions: MatterVersionRepository
    departments: DepartmentRepository
    regions: RegionRepository
    slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(2))
    _template: bytes | None = field(default=None, init=False, repr=False)  # built once per process

    async def export(self, actor: Actor, department_code: str | None) -> tuple[bytes, str]:
        """(xlsx bytes, file name) of the published matters in the actor's scope; 403 outside it."""
        query, scope = await self._scope(actor, department_code)
        docs = await self.versions.many(await self.matters.live_versions(query))
        bodies = [{"code": doc["matter_code"], **doc["guide"]} for doc in docs]
        async with self.slots:
            data = await asyncio.to_thread(build_workbook, bodies)
        return data, f"matters-{scope}-{datetime.now(_CHINA):%Y%m%d}.xlsx"

    async def template(self) -> bytes:
        """The blank import template (the same column definitions as the parser and the export)."""
        if self._template is None:
            async with self.slots:
                self._template = await asyncio.to_thread(build_workbook, [])
        return self._template

    async def _scope(self, actor: Actor, department_code: str | None) -> tuple[dict[str, Any], str]:
        supervisor = Role.SUPERVISOR in actor.roles
        own = await self.regions.get(actor.region_code) if supervisor and actor.region_code else None
        if department_code is None and not supervisor:
            department_code = actor.department_id
        if department_code is None:
            authorize_catalogue_export(actor, None, inside_actor_region=own is not None)  # 403 unless supervisor
            region = own.code if own else ""
            return {"published.region_code": {"$in": await self.regions.subtree_codes(region)}}, region
        department = await self.departments.get(department_code)
        where = await self.regions.get(department.region_code) if department else None
        inside = own is not None and where is not None and (where.code == own.code or own.code in where.ancestors)
        authorize_catalogue_export(actor, department_code, inside_actor_region=inside)
        return {"department_code": department_code}, department_code
