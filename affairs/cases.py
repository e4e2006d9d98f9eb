"""Cases (办件) composed: the applicant's side, the staff's side, the inbox, staff reads and supervision.

One object per process (built in config/wiring.py) that handlers reach as `deps.cases.<part>`. `set_clock`
replaces "now" everywhere at once, which is how tests run a case past its due date without sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.asynchronous.mongo_client import AsyncMongoClient

from accounts.people import PersonRepository
from accounts.staff import StaffRepository
from affairs.case_apply import CaseApplications
from affairs.case_history import History, StaleCase
from affairs.case_repository import CaseEventRepository, CaseRepository, CaseTaskRepository, Transactions
from affairs.case_review import CaseReview
from affairs.case_tasks import Inbox
from affairs.case_views import CaseDesk, event_view, list_item
from affairs.ecerts import EcertRepository
from affairs.matter_repository import MatterRepository, MatterVersionRepository
from affairs.supervision import Supervision
from affairs.workdays import WorkCalendar
from core.clock import bson_time
from core.idempotency import IdempotencyRepository
from core.list_cache import ListCache
from core.outbox import OutboxRepository
from core.pii import FieldCipher

MAX_PAGE = 50


@dataclass
class Cases:
    apply: CaseApplications
    review: CaseReview
    inbox: Inbox
    desk: CaseDesk
    supervision: Supervision
    events: CaseEventRepository
    ecerts: EcertRepository
    calendar: WorkCalendar

    @classmethod
    def build(cls, client: AsyncMongoClient[dict[str, Any]], db_name: str, *, cipher: FieldCipher,
              calendar: WorkCalendar, documents: Any = None, lists: ListCache | None = None) -> Cases:
        """`lists`: where the first pages of 我的办件 and the inbox are kept between writes (core/list_cache.py)."""
        db = client[db_name]
        cases, events, tasks = CaseRepository(db, lists), CaseEventRepository(db), CaseTaskRepository(db, lists)
        history = History(cases, events, OutboxRepository(db))
        tx = Transactions(client, retry_on=StaleCase, lists=lists)
        ecerts = EcertRepository(db)
        inbox = Inbox(cases=cases, tasks=tasks, history=history, tx=tx, staff=StaffRepository(db),
                      calendar=calendar)
        return cls(
            apply=CaseApplications(cases=cases, tasks=tasks, history=history, tx=tx, matters=MatterRepository(db),
                                   versions=MatterVersionRepository(db), people=PersonRepository(db),
                                   ecerts=ecerts, cipher=cipher, idempotency=IdempotencyRepository(db),
                                   calendar=calendar, documents=documents),
            review=CaseReview(cases=cases, tasks=tasks, history=history, tx=tx, inbox=inbox, ecerts=ecerts,
                              calendar=calendar),
            inbox=inbox, desk=CaseDesk(cases, events, tasks, calendar),
            supervision=Supervision(cases=cases, tasks=tasks, history=history, tx=tx),
            events=events, ecerts=ecerts, calendar=calendar,
        )

    def set_clock(self, now: Callable[[], datetime]) -> None:
        for part in (self.apply, self.review, self.inbox, self.desk):
            part.now = now

    def now(self) -> datetime:
        return bson_time(self.apply.now())

    # -- the applicant's reads ---------------------------------------------------------------------------------
    async def mine(self, person_id: str, *, before: str | None, limit: int, states: list[str] | None
                   ) -> dict[str, Any]:
        rows = await self.apply.cases.of_applicant(person_id, before_id=before, limit=limit + 1, states=states)
        now = self.now()
        return {"items": [list_item(c, self.calendar, now) for c in rows[:limit]],
                "next_cursor": rows[limit - 1]["_id"] if len(rows) > limit else None}

    async def timeline(self, person_id: str, case_id: str) -> list[dict[str, Any]]:
        await self.apply.own(person_id, case_id)
        return [event_view(e, for_staff=False) for e in await self.events.of_case(case_id)]
