"""One case of the cases benchmark replayed step by step through the workflow's pure parts (bench/cases_seed.py
says what is stored and why). The fields each step sets mirror affairs/case_apply.py, case_review.py,
case_tasks.py and supervision.py."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from accounts.regions import region_prefix
from affairs import case_chain, case_clock, case_forms
from affairs.case_history import SYSTEM, Who
from affairs.case_inputs import MaterialChoice
from affairs.case_materials import deferred, material_docs
from affairs.case_states import Actor, CaseAction, CaseState, next_state
from affairs.case_tasks import OPEN_STATES, new_task
from affairs.supervision import SUPERVISION
from affairs.workdays import WorkCalendar, shanghai_date
from bench.cases_people import OPINIONS, PROBLEMS, Batch, Person, StaffMember, fill, id_at
from core.masking import mask_id_number, mask_phone

S = CaseState


class Seeder(Protocol):
    """What a replay asks of the seeder (bench/cases_seed.CaseSeeder)."""

    rng: random.Random
    calendar: WorkCalendar
    encrypt: Callable[[str, str], str]
    ecert_names: dict[str, str]
    benched_id: str | None

    def staff_of(self, department_code: str) -> StaffMember: ...

    def receipt_no(self, region_code: str, at: datetime) -> str: ...


class Replay:
    """One case replayed step by step, storing what the real workflow stores (see the module docstring)."""

    def __init__(self, seeder: Seeder, version: dict[str, Any], person: Person, started: datetime) -> None:
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
