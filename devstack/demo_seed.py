"""Demo staff accounts for `./dev run`: the staff of `simulators/demo_people.py`, a system administrator and the
finance staff of the demo school (`devstack/demo_school.py`).

The API calls `seed_demo_staff` at start-up when `ZSB_ENV=dev` (never in test or production). It is idempotent:
an account whose username exists is left as it is, so a restart neither duplicates nor resets anything. All demo
accounts share one public password (printed in the banner); their mobiles are the demo people's fake numbers,
so the second-factor SMS lands in the SMS simulator's inbox (`GET /_sim/sms/messages?phone=…`).
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from accounts.phone import parse_cn_mobile
from accounts.staff import NewStaff
from accounts.staff_admin import StaffAdministration
from affairs.demo_kit import DEPT
from devstack import demo_school
from simulators.demo_people import NINGXIANG_CITY, by_key

log = structlog.get_logger(__name__)

DEMO_PASSWORD = "Zsb-demo-2024"  # noqa: S105 - a public demo password, dev only


@dataclass(frozen=True, slots=True)
class DemoStaff:
    username: str
    display_name: str
    phone: str
    department_id: str
    department_name: str
    region_code: str
    level: str
    roles: tuple[str, ...]
    note: str


def _from_person(key: str, username: str, department_id: str, department_name: str,
                 roles: tuple[str, ...], note: str) -> DemoStaff:
    person = by_key(key)
    return DemoStaff(username, person.name, person.phone, department_id, department_name, NINGXIANG_CITY,
                     "district", roles, note)


DEMO_STAFF: tuple[DemoStaff, ...] = (
    _from_person("liu-jianguo", "liujianguo", DEPT["nx_police"], "宁乡市公安局", ("staff",),
                 "户籍窗口（在市民之家办件）"),
    _from_person("zhou-min", "zhoumin", DEPT["nx_edu"], "宁乡市教育局", ("staff", "dept_admin"),
                 "教育局审批人员兼部门管理员：可编辑、发布本局事项"),
    DemoStaff("admin", "系统管理员", "13800000090", "changsha-dsj", "长沙市数据资源局", "430100", "city",
              ("sysadmin",), "管理账号与角色（不看群众办件）"),
    # the demo school's finance (devstack/demo_school.py): to the staff model the school is their department
    DemoStaff(demo_school.FINANCE_USERNAME, demo_school.FINANCE_NAME, demo_school.FINANCE_PHONE,
              demo_school.SCHOOL_CODE, demo_school.SCHOOL_NAME, demo_school.SCHOOL_REGION, "town",
              ("school_finance",), "学校财务：花名册、收费项目、账单、退费"),
)


async def seed_demo_staff(staff_admin: StaffAdministration) -> list[str]:
    """Create the demo accounts that are missing; returns the usernames created now (empty on a restart)."""
    created = []
    for demo in DEMO_STAFF:
        if await staff_admin.staff.find_by_username(demo.username) is not None:
            continue
        await staff_admin.create_as_system(
            NewStaff(username=demo.username, display_name=demo.display_name, mobile=parse_cn_mobile(demo.phone),
                     department_id=demo.department_id, department_name=demo.department_name,
                     region_code=demo.region_code, level=demo.level, roles=demo.roles),
            initial_password=DEMO_PASSWORD, must_change_password=False,
        )
        created.append(demo.username)
    if created:
        log.info("demo_staff_seeded", usernames=created)
    return created


def banner_lines() -> list[str]:
    """For the `./dev run` banner: who to sign in as, and the one command that does both login steps."""
    lines = ["", f"Sign in as demo staff (password {DEMO_PASSWORD}; the SMS code is read from the simulator):"]
    lines += [f"  {'/'.join(d.roles):<13} .venv/bin/python -m devstack.demo_staff_login {d.username:<11}"
              f"# {d.display_name}，{d.department_name}" for d in DEMO_STAFF]
    return lines + demo_school.banner_lines()
