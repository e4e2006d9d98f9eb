"""Demo school fees for `./dev run`: a school of 宁乡市教育局 with one class, a roster, a published fee item and its
bills, so the demo parent 陈志强 (`simulators/demo_people.py`) has a child to link and a bill to pay.

The API calls `seed_demo_school` at start-up when `ZSB_ENV=dev` (never in test or production), after the demo
catalogue (its departments and regions) and the demo staff (`devstack/demo_seed.py`, which holds the school's
finance account). Everything goes through the real services, as staff would: 周敏 (dept_admin of 宁乡市教育局)
registers the school with 宁乡市发展和改革局 as its price department; the finance account uploads the roster,
whose import runs in-process (the runner the worker runs); the fee item is created and submitted by the finance
account, approved by 周敏 for the education side and by a seed actor for the price side (no demo staff works
there), published, and its bills made by the bill generator in-process (the worker is not asked to).

Idempotent step by step: a school that exists, students already on the roster, a fee item of the same name and
the bills of every student are found and left as they are; an item stopped half-way (a crash) is taken on from
its state. A restart changes nothing.

陈思远 (a demo person, child of 陈志强 and 李秀兰) is on the roster with both parents' demo phones as guardian
phones, so 陈志强 links him with name and ID number once his own phone is verified (docs/simulators.md).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date
from io import BytesIO
from typing import TYPE_CHECKING, Any

import structlog
from openpyxl import load_workbook

from accounts.citizen_id import make_citizen_id
from accounts.scopes import Actor
from affairs.demo_kit import DEPT
from affairs.departments import make_uscc
from config.pii import pii_from_settings
from devstack.fee_setup import not_queued
from payments.fee_item_model import FeeItemIn
from payments.roster_service import RosterImports
from payments.roster_sheet import SHEET, build_template
from payments.school_fees import bill_generator, roster_runner
from payments.schools import SchoolIn
from simulators.demo_people import NINGXIANG_CITY, by_key

if TYPE_CHECKING:
    from config.wiring import Dependencies

log = structlog.get_logger(__name__)

SCHOOL_CODE = make_uscc(NINGXIANG_CITY, "44518701", org_type="2")  # a 事业单位 of 宁乡市
SCHOOL_NAME = "宁乡市玉潭街道演示小学"
SCHOOL_REGION = "430182001"  # 玉潭街道
EDU_ADMIN_USERNAME = "zhoumin"  # demo staff: dept_admin of 宁乡市教育局
FINANCE_USERNAME = "tanlijuan"  # demo staff: the school's finance (devstack/demo_seed.py)
FINANCE_NAME = "谭丽娟"
FINANCE_PHONE = "13800000091"
GRADE, CLASS_NAME = "五年级", "2班"
ITEM = FeeItemIn(
    name="2026年秋季学期课后服务费", amount_fen=48_000, term="2026-autumn", grades=[GRADE],
    basis="宁发改价费〔2026〕12号《关于规范中小学服务性收费的通知》",
    description="每生每学期 480 元，按学期一次缴清（演示数据）",
)
PRICE_REVIEWER = Actor(roles=frozenset({"staff"}), staff_id="system:demo-seed", department_id=DEPT["nx_ndrc"],
                       region_code=NINGXIANG_CITY)


@dataclass(frozen=True, slots=True, repr=False)
class Pupil:
    student_no: str
    name: str
    id_number: str
    phones: tuple[str, ...]

    def __repr__(self) -> str:  # no full ID numbers or phones in tracebacks
        return f"Pupil({self.student_no!r}, {self.name!r})"


def _pupils() -> tuple[Pupil, ...]:
    siyuan = by_key("chen-siyuan")
    parents = tuple(by_key(key).phone for key in siyuan.guardians)
    classmates = (("刘子涵", date(2015, 11, 3), 22, "0111"), ("王浩然", date(2016, 2, 14), 31, "0112"),
                  ("李欣怡", date(2016, 6, 8), 44, "0113"))
    return (Pupil("20220501", siyuan.name, siyuan.id_number, parents),
            *(Pupil(f"2022050{i}", name, make_citizen_id(NINGXIANG_CITY, born, seq), (f"1380000{phone}",))
              for i, (name, born, seq, phone) in enumerate(classmates, start=2)))


PUPILS = _pupils()
CHILD = PUPILS[0]  # 陈思远, the child 陈志强 links


@dataclass
class SchoolSeedReport:
    """What this run did; all empty / zero on a run after the first."""

    school_created: bool = False
    roster_imported: bool = False
    item_steps: list[str] = field(default_factory=list)  # created, submitted, approved:education, … published
    bills_created: int = 0

    @property
    def changed(self) -> bool:
        return self.school_created or self.roster_imported or bool(self.item_steps) or self.bills_created > 0


def roster_xlsx() -> bytes:
    """The school's own template (payments/roster_sheet.py) filled in with the demo class."""
    book = load_workbook(BytesIO(build_template()))
    sheet = book[SHEET]
    for pupil in PUPILS:
        phones = [*pupil.phones, None][:2]
        sheet.append([pupil.student_no, pupil.name, GRADE, CLASS_NAME, pupil.id_number, *phones])
    out = BytesIO()
    book.save(out)
    return out.getvalue()


async def _actor(deps: Dependencies, username: str) -> Actor:
    account = await deps.staff_admin.staff.find_by_username(username)
    if account is None:
        raise RuntimeError(f"demo staff {username!r} missing: seed_demo_staff runs first")
    return account.actor()


async def seed_demo_school(deps: Dependencies) -> SchoolSeedReport:
    """Create what is missing of the demo school; a run after the first finds everything and changes nothing."""
    fees, settings, report = deps.school_fees, deps.settings, SchoolSeedReport()
    finance = await _actor(deps, FINANCE_USERNAME)
    if await fees.schools.schools.get(SCHOOL_CODE) is None:
        education_admin = await _actor(deps, EDU_ADMIN_USERNAME)
        await fees.schools.create(education_admin, SchoolIn(code=SCHOOL_CODE, name=SCHOOL_NAME,
                                                            region_code=SCHOOL_REGION,
                                                            price_department_code=DEPT["nx_ndrc"]))
        report.school_created = True

    numbers = [pupil.student_no for pupil in PUPILS]
    if set(await fees.students.by_numbers(SCHOOL_CODE, numbers)) != set(numbers):
        cipher, index = pii_from_settings(settings)
        imports = RosterImports(fees.roster.jobs, fees.schools, deps.objects, settings.s3_bucket_documents,
                                not_queued)
        job, _ = await imports.submit(finance, SCHOOL_CODE, roster_xlsx())
        runner = roster_runner(deps.mongo, deps.db, objects=deps.objects, bucket=settings.s3_bucket_documents,
                               cipher=cipher, index=index)
        outcome = await runner.run(job["_id"])
        if outcome != "done":
            raise RuntimeError(f"demo roster import ended {outcome}: {await fees.roster.jobs.get(job['_id'])}")
        report.roster_imported = True

    item = await _published_item(deps, finance, report)
    students = await fees.students.by_numbers(SCHOOL_CODE, numbers)

    async def billed(student: dict[str, Any]) -> bool:
        return any(b["fee_item_id"] == item["_id"] for b in await fees.bills.bills.of_student(student["_id"]))

    unbilled = [s for s in students.values() if not await billed(s)]
    if unbilled:  # the generator only fills gaps (one bill per item and student, unique in the database)
        items = fees.fee_items.items
        if item["bills"]["state"] == "pending" or await items.request_bills(item["_id"]):
            await bill_generator(deps.mongo, deps.db).run(item["_id"])
        report.bills_created = sum([await billed(s) for s in unbilled])
    if report.changed:
        log.info("demo_school_seeded", school_id=SCHOOL_CODE, school_created=report.school_created,
                 roster_imported=report.roster_imported, item_steps=report.item_steps,
                 bills_created=report.bills_created)
    return report


async def _published_item(deps: Dependencies, finance: Actor, report: SchoolSeedReport) -> dict[str, Any]:
    """The demo fee item, taken through whatever steps it still lacks up to published (never re-published)."""
    items = dataclasses.replace(deps.school_fees.fee_items, publish=not_queued)
    found = [doc for doc in await items.items.of_school(SCHOOL_CODE) if doc["name"] == ITEM.name
             and doc["state"] != "withdrawn"]
    if found:
        item = found[0]
    else:
        item = await items.create(finance, SCHOOL_CODE, ITEM)
        report.item_steps.append("created")
    if item["state"] == "draft":
        item = await items.submit(finance, item["_id"], item["revision"])
        report.item_steps.append("submitted")
    if item["state"] == "under_review":
        reviewers = {"education": await _actor(deps, EDU_ADMIN_USERNAME), "price": PRICE_REVIEWER}
        for side, reviewer in reviewers.items():
            if item["reviews"][side]["decision"] == "pending":
                item = await items.review(reviewer, item["_id"], item["revision"], approve=True)
                report.item_steps.append(f"approved:{side}")
    if item["state"] == "approved":
        item = await items.publish_item(finance, item["_id"], item["revision"])
        report.item_steps.append("published")
    return item


def banner_lines() -> list[str]:
    """For the `./dev run` banner: the child 陈志强 links (demo data, so the full ID number is printed)."""
    return [
        "",
        f"Demo school fees: {SCHOOL_NAME} ({GRADE}{CLASS_NAME}), {ITEM.name} {ITEM.amount_fen // 100} 元 per pupil.",
        f"  chen-zhiqiang links his child {CHILD.name} (ID number {CHILD.id_number}) after verifying his phone "
        f"{by_key('chen-zhiqiang').phone}; steps in docs/simulators.md (\"Paying a school fee\").",
    ]
