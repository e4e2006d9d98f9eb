"""The applicant's side of a case: start from a published matter, save the draft, submit (one form, one set of
materials, 一号申请), withdraw before a decision, resubmit after a supplement notice.

A resident must have bound their citizen ID (一号申请: the number is the key to everything); their own name, ID
and phone fill the form from the verified profile. Submission carries an `Idempotency-Key`, so a phone that
retries on a flaky network gets the same answer and one case. Other people's cases answer 404 like missing ones.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from accounts import errors as AE
from accounts.people import PersonRepository, sealed_identity
from accounts.regions import region_prefix
from affairs import case_chain, case_clock, case_forms
from affairs import errors as AF
from affairs.case_history import History, Step, Who
from affairs.case_inputs import DraftChange, Withdraw
from affairs.case_materials import changed_targets, material_docs, missing
from affairs.case_repository import CaseRepository, CaseTaskRepository, Transactions
from affairs.case_states import Actor, CaseAction, CaseState
from affairs.case_tasks import new_task, task_created_event
from affairs.ecerts import EcertRepository
from affairs.matter_repository import MatterRepository, MatterVersionRepository
from affairs.workdays import WorkCalendar
from core.clock import bson_time
from core.errors import VALIDATION_FAILED, AppError
from core.idempotency import IdempotencyRepository, StoredAnswer, fingerprint
from core.ids import new_id
from core.pii import FieldCipher
from storage.document_checks import allowed_purposes

ID_CONTEXT, PHONE_CONTEXT = "person.id_number", "person.phone"


class CaseApplications:
    def __init__(self, *, cases: CaseRepository, tasks: CaseTaskRepository, history: History, tx: Transactions,
                 matters: MatterRepository, versions: MatterVersionRepository, people: PersonRepository,
                 ecerts: EcertRepository, cipher: FieldCipher, idempotency: IdempotencyRepository,
                 calendar: WorkCalendar, documents: Any = None) -> None:
        self.cases, self.tasks, self.history, self.tx = cases, tasks, history, tx
        self.matters, self.versions, self.people, self.ecerts = matters, versions, people, ecerts
        self.cipher, self.idempotency, self.calendar, self.documents = cipher, idempotency, calendar, documents
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)  # tests freeze the clock here

    # -- reading ----------------------------------------------------------------------------------------------
    async def own(self, person_id: str, case_id: str) -> dict[str, Any]:
        """The applicant's own case; 404 RESOURCE_NOT_FOUND for a missing case and for someone else's alike."""
        case = await self.cases.get(case_id)
        if case is None or case["applicant_person_id"] != person_id:
            raise AppError(AE.RESOURCE_NOT_FOUND)
        return case

    async def _identity(self, person_id: str) -> dict[str, Any]:
        identity = await sealed_identity(self.people, person_id)
        if not identity or not identity.get("id_cipher"):
            raise AppError(AF.CITIZEN_ID_REQUIRED)
        return identity

    def _identity_values(self, identity: dict[str, Any]) -> dict[str, str]:
        values = {"applicant_name": identity["name"],
                  "applicant_id_number": self.cipher.decrypt(identity["id_cipher"], context=ID_CONTEXT)}
        if identity.get("phone_cipher"):
            values["applicant_phone"] = self.cipher.decrypt(identity["phone_cipher"], context=PHONE_CONTEXT)[-11:]
        return values

    async def _version(self, code: str, number: int | None = None) -> dict[str, Any]:
        if number is None:
            state = await self.matters.listed_state(code)
            if not state or not state.get("listed"):
                raise AppError(AF.MATTER_NOT_FOUND)
            number = state["published"]["version"]
        version = await self.versions.get(code, number)
        if version is None:
            raise AppError(AF.MATTER_NOT_FOUND)
        return version

    # -- start and save ---------------------------------------------------------------------------------------
    async def start(self, person_id: str, matter_code: str) -> dict[str, Any]:
        identity = await self._identity(person_id)
        version = await self._version(matter_code)
        guide = version["guide"]
        if not guide["channels"]["online"]:
            raise AppError(AF.MATTER_NOT_ONLINE)
        earlier = await self.cases.latest_form_of(person_id, matter_code)
        shown_identity = {"applicant_name": identity["name"], "applicant_id_number": identity["id_masked"]}
        if identity.get("phone_masked"):
            shown_identity["applicant_phone"] = identity["phone_masked"]
        form = case_forms.prefill(guide["form_schema"], shown_identity, (earlier or {}).get("form", {}))
        materials, _ = material_docs(guide["materials"], [], {})
        departments = [version["department"]["code"], *guide.get("co_department_codes", [])]
        now = bson_time(self.now())
        case = {
            "_id": new_id(), "applicant_person_id": person_id,
            "applicant": {"name": identity["name"], "id_masked": identity["id_masked"],
                          "phone_masked": shown_identity.get("applicant_phone")},
            "matter": {"code": matter_code, "version": version["version"], "name": guide["name"],
                       "department_code": version["department"]["code"],
                       "department_name": version["department"]["name"],
                       "co_department_codes": list(guide.get("co_department_codes", [])),
                       "result": guide["result"], "result_ecert_type": guide.get("result_ecert_type")},
            "department_codes": departments, "region_code": version["region"]["code"],
            "region_prefix": region_prefix(version["region"]["code"]),
            "state": CaseState.DRAFT.value, "version": 1, "seq": 0, "chain_head": case_chain.GENESIS,
            "form": form, "sealed": {}, "materials": materials, "supplements": [], "deferred": [],
            "clock": None, "receipt_no": None, "result": None,
            "created_at": now, "updated_at": now, "submitted_at": None,
        }
        who = Who(Actor.APPLICANT, id=person_id, role="resident")

        async def work(session: Any) -> dict[str, Any]:
            await self.cases.insert(case, session=session)
            return await self.history.note(case, who, "create", now, session)
        return await self.tx.run(work)

    async def _compose(self, person_id: str, case: dict[str, Any], change: DraftChange,
                       version: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str], list[dict[str, Any]],
                                                         list[Any]]:
        """Form (shown, sealed) and materials from a change; field errors of the materials (not completeness)."""
        guide = version["guide"]
        typed = {k: v for k, v in change.form.items() if k not in case_forms.IDENTITY_FIELDS}  # from the profile
        submitted, carried = case_forms.keep_sealed_when_masked(case["form"], case["sealed"], typed)
        held = {c["_id"]: c for c in await self.ecerts.held_by(person_id)}
        materials, errors = material_docs(guide["materials"], change.materials, held)
        if self.documents is not None and not errors:
            await self._attach(person_id, case, materials, guide["materials"])
        shown, sealed = case_forms.seal(guide["form_schema"], submitted, self._encrypt, skip=carried)
        shown.update({k: v for k, v in case["form"].items() if k in case_forms.IDENTITY_FIELDS})
        return shown, {**carried, **sealed}, materials, errors

    async def _attach(self, person_id: str, case: dict[str, Any], materials: list[dict[str, Any]],
                      guide_materials: list[dict[str, Any]]) -> None:
        """Documents named now are attached to their material (owner's own, checked, of an accepted kind);
        documents no longer named are released. Both are idempotent, so a retried save is harmless."""
        kept = {d for m in materials for d in m["document_ids"]}
        dropped = [d for m in case["materials"] for d in m["document_ids"] if d not in kept]
        if dropped:
            await self.documents.detach(person_id, dropped, case["_id"])
        for m in materials:
            if m["document_ids"]:
                await self.documents.attach(person_id, m["document_ids"], case["_id"], f"m{m['index']}",
                                            allowed=allowed_purposes(guide_materials[m["index"]]))

    def _encrypt(self, value: str, context: str) -> str:
        return self.cipher.encrypt(value, context=context)

    def _decrypt(self, value: str, context: str) -> str:
        return self.cipher.decrypt(value, context=context)

    async def save(self, person_id: str, case_id: str, change: DraftChange) -> dict[str, Any]:
        """Save a draft as it is (it may be incomplete); only the materials' references are checked now."""
        case = await self.own(person_id, case_id)
        _expect(case, change.version)
        if case["state"] != CaseState.DRAFT:
            raise AppError(AF.CASE_STATE_CONFLICT, errmsg="只有草稿可以修改；待补正的办件请提交补正",
                           extra={"state": case["state"]})
        version = await self._version(case["matter"]["code"], case["matter"]["version"])
        form, sealed, materials, errors = await self._compose(person_id, case, change, version)
        if errors:
            raise AppError(VALIDATION_FAILED, errors=errors)
        updated = await self.cases.update(case_id, case["version"], {
            "form": form, "sealed": sealed, "materials": materials, "updated_at": bson_time(self.now())})
        if updated is None:
            raise AppError(AF.CASE_VERSION_CONFLICT, extra={"state": case["state"]})
        return updated

    async def _complete_form(self, person_id: str, case: dict[str, Any], change: DraftChange,
                             version: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str], list[dict[str, Any]]]:
        """Everything a submission needs, validated: every bad field and missing material in one 422."""
        schema = version["guide"]["form_schema"]
        form, sealed, materials, errors = await self._compose(person_id, case, change, version)
        identity = self._identity_values(await self._identity(person_id))
        full = case_forms.with_identity(schema, case_forms.unseal(schema, form, sealed, self._decrypt), identity)
        try:
            case_forms.validate_form(schema, full)
        except AppError as exc:
            errors = [*exc.errors, *errors]
        errors += missing(materials)
        if errors:
            raise AppError(VALIDATION_FAILED, errors=errors)
        shown, sealed = case_forms.seal(schema, full, self._encrypt)
        return shown, sealed, materials

    # -- submit, withdraw, resubmit ---------------------------------------------------------------------------
    async def submit(self, person_id: str, case_id: str, change: DraftChange, *,
                     idempotency_key: str | None, body: bytes) -> dict[str, Any]:
        scope = f"case-submit:{person_id}"
        if idempotency_key:
            stored = await self.idempotency.claim(scope, idempotency_key, fingerprint("POST", case_id, body))
            if stored is not None:
                return await self.own(person_id, stored.body["case_id"])
        try:
            case = await self._submit(person_id, case_id, change)
        except BaseException:
            if idempotency_key:
                await self.idempotency.release(scope, idempotency_key)
            raise
        if idempotency_key:
            await self.idempotency.complete(scope, idempotency_key, StoredAnswer(200, {"case_id": case_id}))
        return case

    async def _submit(self, person_id: str, case_id: str, change: DraftChange) -> dict[str, Any]:
        case = await self.own(person_id, case_id)
        _expect(case, change.version)
        if case["state"] != CaseState.DRAFT:
            raise AppError(AF.CASE_STATE_CONFLICT, errmsg="办件已提交，不能重复提交", extra={"state": case["state"]})
        version = await self._version(case["matter"]["code"], case["matter"]["version"])
        form, sealed, materials = await self._complete_form(person_id, case, change, version)
        now = bson_time(self.now())
        clock = case_clock.start(self.calendar, version["guide"], now)
        step = Step(CaseAction.SUBMIT, Who(Actor.APPLICANT, id=person_id, role="resident"),
                    changes={"form": form, "sealed": sealed, "materials": materials, "clock": clock,
                             "submitted_at": now})  # told to nobody: core/outbox_topics.py case.submitted
        return await self.tx.run(lambda session: self._then_prereview(case, step, now, session, round_=1))

    async def _then_prereview(self, case: dict[str, Any], step: Step, now: datetime, session: Any,
                              round_: int) -> dict[str, Any]:
        """The step, then a pre-review task for the implementing department (and its notification)."""
        current = await self.cases.get(case["_id"], session=session)
        if current is None or current["version"] != case["version"]:
            raise AppError(AF.CASE_VERSION_CONFLICT, extra={"state": (current or case)["state"]})
        updated = await self.history.record(current, step, now, session)
        task = new_task(updated, "prereview", updated["matter"]["department_code"], now, round_=round_)
        await self.tasks.insert_many([task], session=session)
        await self.history.outbox.add(task_created_event(task, updated), session=session, now=now)
        return updated

    async def withdraw(self, person_id: str, case_id: str, body: Withdraw) -> dict[str, Any]:
        case = await self.own(person_id, case_id)
        _expect(case, body.version)
        now = bson_time(self.now())

        async def work(session: Any) -> dict[str, Any]:
            current = await self.cases.get(case_id, session=session)
            assert current is not None
            _expect(current, case["version"])
            changes: dict[str, Any] = {"withdrawn_reason": body.reason}
            if current.get("clock"):
                changes["clock"] = case_clock.stop(current["clock"], now)
            updated = await self.history.record(current, Step(
                CaseAction.WITHDRAW, Who(Actor.APPLICANT, id=person_id, role="resident"), opinion=body.reason,
                changes=changes), now, session)
            await self.tasks.close_open(case_id, "cancelled", now, session=session)
            return updated
        return await self.tx.run(work)

    async def resubmit(self, person_id: str, case_id: str, change: DraftChange) -> dict[str, Any]:
        """Answer a supplement notice: the whole corrected form and materials; the clock runs again."""
        case = await self.own(person_id, case_id)
        _expect(case, change.version)
        if case["state"] != CaseState.NEEDS_SUPPLEMENT:
            raise AppError(AF.CASE_STATE_CONFLICT, errmsg="办件当前不需要补正", extra={"state": case["state"]})
        version = await self._version(case["matter"]["code"], case["matter"]["version"])
        _, carried = case_forms.keep_sealed_when_masked(case["form"], case["sealed"], change.form)
        form, sealed, materials = await self._complete_form(person_id, case, change, version)
        changed = {f"form.{name}" for name in case_forms.changed_fields(case["form"], form)}
        changed |= {"form." + path.split(".")[0] for path in sealed if path not in carried}
        changed -= {f"form.{name}" for name in case_forms.IDENTITY_FIELDS}  # from the profile, never typed
        changed |= changed_targets(case["materials"], materials)
        now = bson_time(self.now())
        round_ = len(case["supplements"]) + 1
        step = Step(CaseAction.RESUBMIT, Who(Actor.APPLICANT, id=person_id, role="resident"),
                    details={"changed": sorted(changed)},
                    changes={"form": form, "sealed": sealed, "materials": materials,
                             "clock": case_clock.resume(self.calendar, case["clock"], now),
                             "last_resubmission": {"at": now, "changed": sorted(changed)}})
        return await self.tx.run(lambda session: self._then_prereview(case, step, now, session, round_=round_))


def _expect(case: dict[str, Any], version: int | None) -> None:
    if version is not None and version != case["version"]:
        raise AppError(AF.CASE_VERSION_CONFLICT, extra={"state": case["state"], "version": case["version"]})
