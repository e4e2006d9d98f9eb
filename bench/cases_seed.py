"""100,000 cases for `./dev bench my-cases inbox`, written straight into the database in bulk.

Each case is replayed through the real workflow's pure parts, in memory, and the results are inserted in
batches: the state machine (`next_state`) decides every transition, history events are hash-chained with
`case_chain.seal` exactly as `History.record` / `History.note` store them, clocks come from `case_clock`
(start, pause, resume, stop on the China working-day calendar), tasks from `case_tasks.new_task`, forms from
`case_forms.prefill` / `case_forms.seal` (numbers encrypted with the app's cipher) and materials from
`case_materials.material_docs`. The fields each step sets mirror affairs/case_apply.py, case_review.py,
case_tasks.py and supervision.py step by step (`Replay` below). Outbox rows are not written: by the time a
case is old they have long been dispatched, and neither read measured here touches them; for the history kept,
see HISTORY_KEPT.

The spread: cases over the last two years and the 35 published demo matters (weighted by how often people
need them), 20,000 residents, one benchmarked resident with 25 cases of their own, synthetic staff per
department. Old cases are finished (completed, not accepted, denied, withdrawn, abandoned drafts); recent ones
are in every state of the machine, so the open tasks (the inboxes) are the last weeks' work.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from accounts.regions import region_prefix
from affairs import case_chain, case_clock, case_forms
from affairs.case_history import SYSTEM, Who
from affairs.case_inputs import MaterialChoice
from affairs.case_materials import deferred, material_docs
from affairs.case_states import Actor, CaseAction, CaseState, next_state
from affairs.case_tasks import OPEN_STATES, new_task
from affairs.supervision import SUPERVISION
from affairs.workdays import SHANGHAI, WorkCalendar, shanghai_date
from bench.cases_people import (
    OPINIONS,
    PROBLEMS,
    Batch,
    Person,
    StaffMember,
    fake_name,
    fake_person,
    fill,
    id_at,
)
from core.masking import mask_id_number, mask_phone
from core.pii import FieldCipher

S = CaseState
DAY = 86400.0
HISTORY_DAYS = 730
RECENT_DAYS = 45  # younger cases may still be in flight; older ones are all finished
# The history (case_events) is stored for the benchmarked resident's cases and the recent ones (every case an
# inbox shows); older cases keep `seq` and `chain_head` of their full replayed history, but their ~700,000
# events are not inserted: neither measured read touches that collection, and they would take the local
# database many minutes to ingest.
# The same for e-certificates issued on completion: stored for the benchmarked resident only.
HISTORY_KEPT = "the resident's and the last 45 days' cases"

# What happened to a case, by age. Drafts are abandoned applications (they never leave the applicant's list).
OLD_OUTCOMES = {S.COMPLETED: 76, S.NOT_ACCEPTED: 5, S.DENIED: 3, S.WITHDRAWN: 6, S.DRAFT: 10}
RECENT_OUTCOMES = {S.DRAFT: 10, S.SUBMITTED: 12, S.PRE_REVIEW: 8, S.NEEDS_SUPPLEMENT: 8, S.RESUBMITTED: 3,
                   S.IN_REVIEW: 20, S.APPROVED: 4, S.COMPLETED: 25, S.NOT_ACCEPTED: 3, S.DENIED: 2,
                   S.WITHDRAWN: 5}
# How often a matter is asked for: people's everyday matters (medical insurance, housing fund, births,
# household register) far more than licences or a town's single matter.
MATTER_WEIGHT_BY_KIND = {"YB": 9, "GJJ": 8, "GA": 6, "WJ": 5, "RS": 5, "JY": 4, "MZ": 3, "BDC": 4, "SJ": 3,
                         "SW": 3, "FG": 1, "BM": 2}



class Replay:
    """One case replayed step by step, storing what the real workflow stores (see the module docstring)."""

    def __init__(self, seeder: CaseSeeder, version: dict[str, Any], person: Person, started: datetime) -> None:
        self.seeder, self.version, self.person, self.rng = seeder, version, person, seeder.rng
        self.guide = guide = version["guide"]
        self.tasks: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.applicant = Who(Actor.APPLICANT, id=person.id, role="resident")
        identity = {"applicant_name": person.name, "applicant_id_number": mask_id_number(person.id_number)}
        if person.phone:
            identity["applicant_phone"] = mask_phone(person.phone)
        departments = [version["department"]["code"], *guide.get("co_department_codes", [])]
        # CaseApplications.start
        self.case: dict[str, Any] = {
            "_id": id_at(started, self.rng), "applicant_person_id": person.id,
            "applicant": {"name": person.name, "id_masked": identity["applicant_id_number"],
                          "phone_masked": identity.get("applicant_phone")},
            "matter": {"code": version["matter_code"], "version": version["version"], "name": guide["name"],
                       "department_code": version["department"]["code"],
                       "department_name": version["department"]["name"],
                       "co_department_codes": list(guide.get("co_department_codes", [])),
                       "result": guide["result"], "result_ecert_type": guide.get("result_ecert_type")},
            "department_codes": departments, "region_code": version["region"]["code"],
            "region_prefix": region_prefix(version["region"]["code"]),
            "state": S.DRAFT.value, "version": 1, "seq": 0, "chain_head": case_chain.GENESIS,
            "form": case_forms.prefill(guide["form_schema"], identity, {}), "sealed": {},
            "materials": material_docs(guide["materials"], [], {})[0], "supplements": [], "deferred": [],
            "clock": None, "receipt_no": None, "result": None,
            "created_at": started, "updated_at": started, "submitted_at": None,
        }
        self.note(self.applicant, "create", started)

    # -- History.record / History.note ------------------------------------------------------------------------
    def _event(self, action: str, who: Who, at: datetime, to: str, opinion: str | None,
               details: dict[str, Any] | None) -> None:
        case = self.case
        seq = case["seq"] + 1
        event = case_chain.seal({
            "case_id": case["_id"], "seq": seq, "at": at, "action": action, "actor": who.as_doc(),
            "from": case["state"], "to": to, "opinion": opinion, "attachments": [], "details": details or {},
        }, case["chain_head"])
        event["_id"] = f"{case['_id']}:{seq:06d}"
        self.events.append(event)
        case.update(seq=seq, chain_head=event["hash"], updated_at=at, version=case["version"] + 1)

    def record(self, action: CaseAction, who: Who, at: datetime, *, opinion: str | None = None,
               details: dict[str, Any] | None = None, changes: dict[str, Any] | None = None,
               push: dict[str, Any] | None = None) -> None:
        target = next_state(CaseState(self.case["state"]), action, who.kind)
        self.case.update(changes or {})
        for key, item in (push or {}).items():
            self.case[key] = [*self.case[key], item]
        self._event(action.value, who, at, target.value, opinion, details)
        self.case["state"] = target.value

    def note(self, who: Who, action: str, at: datetime, *, opinion: str | None = None,
             details: dict[str, Any] | None = None) -> None:
        self._event(action, who, at, self.case["state"], opinion, details)

    # -- the applicant ------------------------------------------------------------------------------------------
    def _form_and_materials(self) -> dict[str, Any]:
        schema, guide_materials = self.guide["form_schema"], self.guide["materials"]
        choices = []
        for index, material in enumerate(guide_materials):
            if material.get("defer_allowed") and self.rng.random() < 0.3:
                choices.append(MaterialChoice(index=index, promise="本人承诺在受理后十个工作日内补交原件"))
            elif material["required"] or self.rng.random() < 0.5:
                ids = [id_at(self.case["created_at"], self.rng) for _ in range(self.rng.choice((1, 1, 2)))]
                choices.append(MaterialChoice(index=index, document_ids=ids))
        materials, _ = material_docs(guide_materials, choices, {})
        shown, sealed = case_forms.seal(schema, fill(schema, self.person, self.rng), self.seeder.encrypt)
        return {"form": shown, "sealed": sealed, "materials": materials}

    def submit(self, at: datetime) -> None:
        clock = case_clock.start(self.seeder.calendar, self.guide, at)
        self.record(CaseAction.SUBMIT, self.applicant, at,
                    changes={**self._form_and_materials(), "clock": clock, "submitted_at": at})
        self._task("prereview", self.case["matter"]["department_code"], at, round_=1)

    def resubmit(self, at: datetime) -> None:
        changed = sorted(p["target"] for p in self.case["supplements"][-1]["problems"])
        clock = case_clock.resume(self.seeder.calendar, self.case["clock"], at)
        self.record(CaseAction.RESUBMIT, self.applicant, at, details={"changed": changed},
                    changes={**self._form_and_materials(), "clock": clock,
                             "last_resubmission": {"at": at, "changed": changed}})
        self._task("prereview", self.case["matter"]["department_code"], at, round_=len(self.case["supplements"]) + 1)

    def withdraw(self, at: datetime) -> None:
        reason = self.rng.choice(("信息填写有误，重新申请", "已到窗口办理", "暂不需要办理"))
        changes: dict[str, Any] = {"withdrawn_reason": reason}
        if self.case.get("clock"):
            changes["clock"] = case_clock.stop(self.case["clock"], at)
        self.record(CaseAction.WITHDRAW, self.applicant, at, opinion=reason, changes=changes)
        for task in self.tasks:
            if task["state"] in OPEN_STATES:
                task.update(state="cancelled", closed_at=at)

    # -- staff ------------------------------------------------------------------------------------------------------
    def _task(self, stage: str, department_code: str, at: datetime, *, round_: int = 1) -> dict[str, Any]:
        task = new_task(self.case, stage, department_code, at, round_=round_)
        task["_id"] = id_at(at, self.rng)
        self.tasks.append(task)
        return task

    def _open(self, stage: str) -> list[dict[str, Any]]:
        return [t for t in self.tasks if t["stage"] == stage and t["state"] in OPEN_STATES]

    def claim(self, task: dict[str, Any], staff: StaffMember, at: datetime) -> None:
        task.update(state="claimed", assignee={"staff_id": staff.id, "name": staff.name}, claimed_at=at)
        if task["stage"] == "prereview" and self.case["state"] in (S.SUBMITTED, S.RESUBMITTED):
            self.record(CaseAction.START_PREREVIEW, staff.who(), at, details={"task_id": task["_id"]})
        else:
            self.note(staff.who(), "claim", at, details={"task_id": task["_id"]})

    def start_prereview(self, at: datetime) -> StaffMember:
        task = self._open("prereview")[0]
        staff = self.seeder.staff_of(task["department_code"])
        self.claim(task, staff, at)
        return staff

    def request_supplement(self, staff: StaffMember, at: datetime) -> None:
        targets = [f"form.{name}" for name in self.case["form"] if name not in case_forms.IDENTITY_FIELDS]
        targets += [f"materials.{m['index']}" for m in self.case["materials"] if m["document_ids"]]
        chosen = self.rng.sample(targets, k=min(len(targets), self.rng.choice((1, 1, 2, 3))))
        problems = [{"target": t, "message": self.rng.choice(PROBLEMS)} for t in chosen]
        round_ = len(self.case["supplements"]) + 1
        notice = {"round": round_, "at": at, "by": staff.name, "problems": problems}
        self.record(CaseAction.REQUEST_SUPPLEMENT, staff.who(), at, opinion="请按告知内容一次补齐",
                    details={"problems": problems, "round": round_},
                    changes={"clock": case_clock.pause(self.seeder.calendar, self.case["clock"], at)},
                    push={"supplements": notice})
        self._open("prereview")[0].update(state="done", outcome="supplement", closed_at=at)

    def accept(self, staff: StaffMember, at: datetime) -> None:
        promised = deferred(self.case["materials"])
        due = self.seeder.calendar.add_working_days(shanghai_date(at), 10) if promised else None
        deferrals = [{**item, "due_date": due.isoformat()} for item in promised] if due else []
        receipt_no = self.seeder.receipt_no(self.case["region_code"], at)
        self.record(CaseAction.ACCEPT, staff.who(), at, opinion=OPINIONS[0],
                    details={"receipt_no": receipt_no, "deferred": deferrals},
                    changes={"receipt_no": receipt_no, "accepted_at": at, "deferred": deferrals})
        self._open("prereview")[0].update(state="done", outcome="accepted", closed_at=at)
        self.record(CaseAction.START_REVIEW, SYSTEM, at, details={"departments": self.case["department_codes"]})
        for code in self.case["department_codes"]:
            self._task("review", code, at)

    def not_accept(self, staff: StaffMember, at: datetime) -> None:
        reason = "申请事项不属于本部门职权范围，请向有关部门申请"
        self.record(CaseAction.NOT_ACCEPT, staff.who(), at, opinion=reason,
                    changes={"clock": case_clock.stop(self.case["clock"], at), "decided_at": at})
        self._open("prereview")[0].update(state="done", outcome="not_accepted", closed_at=at)

    def decide(self, task: dict[str, Any], approve: bool, at: datetime) -> None:
        staff = self.seeder.staff_of(task["department_code"])
        self.claim(task, staff, max(task["created_at"], at - timedelta(minutes=self.rng.randrange(5, 240))))
        outcome, opinion = ("approved", self.rng.choice(OPINIONS[1:])) if approve else ("denied", "不符合申请条件")
        task.update(state=outcome, closed_at=at)
        task["opinions"] = [*task["opinions"], {"at": at, "staff_id": staff.id, "name": staff.name,
                                                "opinion": opinion}]
        self.note(staff.who(), f"department_{outcome}", at, opinion=opinion, details={"task_id": task["_id"]})
        if not approve:
            for other in self._open("review"):
                other.update(state="cancelled", closed_at=at)
            self.record(CaseAction.DENY, SYSTEM, at, opinion=opinion,
                        details={"department_code": task["department_code"]},
                        changes={"clock": case_clock.stop(self.case["clock"], at), "decided_at": at})
            return
        reviews = [t for t in self.tasks if t["stage"] == "review"]
        if all(t["state"] == "approved" for t in reviews):
            self.record(CaseAction.APPROVE, SYSTEM, at, details={"departments": [t["department_code"] for t in reviews]},
                        changes={"decided_at": at})

    def complete(self, at: datetime, batch: Batch) -> None:
        staff = self.seeder.staff_of(self.case["matter"]["department_code"])
        cert_type = self.case["matter"].get("result_ecert_type")
        result: dict[str, Any] = {"kind": "ecert" if cert_type else "delivery",
                                  "note": None if cert_type else "结果已邮寄", "document_ids": []}
        if cert_type:  # EcertRepository.issue
            cert = {"_id": id_at(at, self.rng), "holder_person_id": self.person.id, "type": cert_type,
                    "type_name": self.seeder.ecert_names.get(cert_type, cert_type),
                    "title": self.case["matter"]["result"], "issuer": self.case["matter"]["department_name"],
                    "number": "ZZ" + at.strftime("%Y%m%d") + id_at(at, self.rng)[-10:], "issued_at": at,
                    "source_case_id": self.case["_id"], "revoked": False}
            if self.person.id == self.seeder.benched_id:  # see HISTORY_KEPT: the others' are not read either
                batch.ecerts.append(cert)
            result["ecert"] = {"id": cert["_id"], "number": cert["number"], "type": cert_type}
        self.record(CaseAction.COMPLETE, staff.who(), at, opinion=result["note"], details={"result": result},
                    changes={"result": result, "completed_at": at,
                             "clock": case_clock.stop(self.case["clock"], at)})

    def supervise(self, now: datetime) -> None:
        """What the beat job has done by `now` to this case's open tasks (Supervision._flag_one)."""
        for task in self.tasks:
            if task["state"] not in OPEN_STATES:
                continue
            for level, due_field in (("warning", "warning_at"), ("overdue", "due_at")):
                at = task.get(due_field)
                if at is not None and at <= now:
                    task["supervision"] = {**task["supervision"], level: at}
                    self.note(SUPERVISION, f"supervision_{level}", max(at, self.case["updated_at"]), details={
                        "task_id": task["_id"], "department_code": task["department_code"],
                        "due_at": task["due_at"]})


class CaseSeeder:
    """Makes cases for people over matters; `seed()` yields batches ready for insert_many."""

    def __init__(self, versions: list[dict[str, Any]], calendar: WorkCalendar, cipher: FieldCipher, now: datetime,
                 *, ecert_names: dict[str, str], seed: int = 6) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - repeatable data, not secrets
        self.versions, self.calendar, self.cipher, self.now = versions, calendar, cipher, now
        self.ecert_names = ecert_names
        self.benched_id: str | None = None
        self.weights = [MATTER_WEIGHT_BY_KIND.get(v["matter_code"].split("-")[1], 2) for v in versions]
        self.staff: dict[str, list[StaffMember]] = {}
        self.counters: Counter[str] = Counter()
        self.encrypt: Callable[[str, str], str] = lambda value, context: cipher.encrypt(value, context=context)

    def staff_of(self, department_code: str) -> StaffMember:
        team = self.staff.get(department_code)
        if team is None:
            team = self.staff[department_code] = [
                StaffMember(id_at(self.now - timedelta(days=800), self.rng),
                            fake_name(self.rng, 2),
                            department_code) for _ in range(6)]
        return self.rng.choice(team)

    def receipt_no(self, region_code: str, at: datetime) -> str:
        prefix = region_code[:6] + at.astimezone(SHANGHAI).strftime("%Y%m%d")
        self.counters[prefix] += 1
        return f"{prefix}{self.counters[prefix]:05d}"

    def counter_docs(self) -> list[dict[str, Any]]:
        """`case_counters` as CaseReview._receipt_no leaves them."""
        return [{"_id": prefix, "seq": seq, "expires_at": self.now + timedelta(days=400)}
                for prefix, seq in self.counters.items()]

    def _outcome(self, age_days: float) -> CaseState:
        table = RECENT_OUTCOMES if age_days <= RECENT_DAYS else OLD_OUTCOMES
        return self.rng.choices(list(table), weights=list(table.values()))[0]

    def one(self, person: Person, batch: Batch, *, age_days: float | None = None) -> dict[str, Any]:
        rng, now = self.rng, self.now
        age = age_days if age_days is not None else rng.uniform(0.02, HISTORY_DAYS)
        started = now - timedelta(days=age)
        version = rng.choices(self.versions, weights=self.weights)[0]
        outcome = self._outcome(age)
        replay = Replay(self, version, person, started)
        # the steps to reach the outcome, each after a gap (seconds); gaps are shrunk to fit before now
        plan: list[tuple[str, float]] = []
        if outcome is not S.DRAFT:
            plan.append(("submit", rng.uniform(120, 7200)))
            if outcome not in (S.SUBMITTED,) and not (outcome is S.WITHDRAWN and rng.random() < 0.4):
                plan.append(("start_prereview", rng.uniform(600, 1.5 * DAY)))
                want_supplement = outcome in (S.NEEDS_SUPPLEMENT, S.RESUBMITTED) or rng.random() < 0.15
                if want_supplement:
                    plan.append(("request_supplement", rng.uniform(600, 0.5 * DAY)))
                    if outcome is not S.NEEDS_SUPPLEMENT:
                        plan.append(("resubmit", rng.uniform(0.2 * DAY, 3 * DAY)))
                        if outcome is not S.RESUBMITTED:
                            plan.append(("start_prereview", rng.uniform(600, DAY)))
                if outcome is S.NOT_ACCEPTED:
                    plan.append(("not_accept", rng.uniform(600, 0.5 * DAY)))
                elif outcome in (S.IN_REVIEW, S.APPROVED, S.COMPLETED, S.DENIED) or (
                        outcome is S.WITHDRAWN and rng.random() < 0.5):
                    plan.append(("accept", rng.uniform(600, 0.5 * DAY)))
                    if outcome in (S.APPROVED, S.COMPLETED, S.DENIED):
                        plan.append(("decide", rng.uniform(0.3 * DAY, version["guide"]["promised_days"] * DAY)))
                    elif outcome is S.IN_REVIEW and len(replay.case["department_codes"]) > 1 and rng.random() < 0.5:
                        plan.append(("decide_one", rng.uniform(0.3 * DAY, 2 * DAY)))
                    if outcome is S.COMPLETED:
                        plan.append(("complete", rng.uniform(600, DAY)))
            if outcome is S.WITHDRAWN:
                plan.append(("withdraw", rng.uniform(600, 2 * DAY)))
        total = sum(gap for _, gap in plan)
        room = (now - started).total_seconds() * 0.95
        scale = min(1.0, room / total) if total else 1.0
        at, staff = started, None
        for step, gap in plan:
            at = at + timedelta(seconds=gap * scale)
            if step == "submit":
                replay.submit(at)
            elif step == "resubmit":
                replay.resubmit(at)
            elif step == "withdraw":
                replay.withdraw(at)
            elif step == "start_prereview":
                staff = replay.start_prereview(at)
            elif step == "request_supplement":
                assert staff is not None
                replay.request_supplement(staff, at)
            elif step == "accept":
                assert staff is not None
                replay.accept(staff, at)
            elif step == "not_accept":
                assert staff is not None
                replay.not_accept(staff, at)
            elif step in ("decide", "decide_one"):
                reviews = replay._open("review")
                for position, task in enumerate(reviews if step == "decide" else reviews[:1]):
                    at += timedelta(seconds=position * rng.uniform(60, 3600) * scale)
                    replay.decide(task, not (outcome is S.DENIED and position == len(reviews) - 1), at)
            elif step == "complete":
                replay.complete(at, batch)
        # open review tasks of recent cases: some already claimed by someone
        for task in replay.tasks:
            if task["state"] == "open" and task["stage"] == "review" and rng.random() < 0.4:
                replay.claim(task, self.staff_of(task["department_code"]),
                             min(now, task["created_at"] + timedelta(seconds=rng.uniform(600, DAY))))
        replay.supervise(now)
        assert CaseState(replay.case["state"]) is outcome, (outcome, replay.case["state"], plan)
        batch.cases.append(replay.case)
        batch.tasks.extend(replay.tasks)
        if age <= RECENT_DAYS or age_days is not None:  # see HISTORY_KEPT
            batch.events.extend(replay.events)
        return replay.case

    def seed(self, total: int, residents: int, benched: Person, benched_cases: int,
             batch_size: int = 2000) -> Iterator[Batch]:
        """`total` cases: `benched_cases` of them the benchmarked resident's, the others over `residents`
        people (a few people with many cases, most with one or two)."""
        people = [fake_person(n, self.rng, self.now) for n in range(residents)]
        self.benched_id = benched.id
        mine = sorted(self.rng.sample(range(total), benched_cases))
        # the benchmarked resident's cases: a couple in flight, the rest over two years
        ages = iter(sorted([self.rng.uniform(0.5, 10), self.rng.uniform(2, 25)]
                           + [self.rng.uniform(30, HISTORY_DAYS) for _ in range(benched_cases - 2)]))
        batch = Batch()
        for n in range(total):
            if mine and n == mine[0]:
                mine.pop(0)
                self.one(benched, batch, age_days=next(ages))
            else:
                self.one(people[min(int(self.rng.paretovariate(1.2)) - 1, residents - 1) if self.rng.random() < 0.1
                                else self.rng.randrange(residents)], batch)
            if len(batch.cases) >= batch_size:
                yield batch
                batch = Batch()
        if batch.cases:
            yield batch


def digest(docs: list[dict[str, Any]]) -> str:
    """A short fingerprint of what was seeded (ids only), for the report."""
    return hashlib.sha256("".join(d["_id"] for d in docs).encode()).hexdigest()[:12]
