"""Roles and staff levels: the names every token, staff record and scope rule uses.

Residents and parents are people (`people` collection, WeChat or SMS login). Everyone else is a staff account
(`staff_accounts`, created by an administrator, password + SMS second factor) holding one or more staff roles.
The two sets are disjoint, so the roles in an access token say which kind of subject it is (`is_staff_roles`):
a staff token is never taken for a resident's and vice versa. Staff roles are not cumulative by design: a
`sysadmin` without `staff` handles no cases (least privilege); give both when one person does both jobs.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from accounts.regions import RegionLevel, region_level


class Role(StrEnum):
    RESIDENT = "resident"  # 居民：办自己的事
    PARENT = "parent"  # 家长：居民 + 已关联子女（缴学费）
    STAFF = "staff"  # 工作人员：办本部门、本辖区的件
    DEPT_ADMIN = "dept_admin"  # 部门管理员：管理本部门、本辖区的工作人员
    SCHOOL_FINANCE = "school_finance"  # 学校财务：本校收费
    SUPERVISOR = "supervisor"  # 电子监察：只读本辖区的一切
    SYSADMIN = "sysadmin"  # 系统管理员：管理账号与角色，不看群众办件


ROLE_LABELS: dict[Role, str] = {
    Role.RESIDENT: "居民", Role.PARENT: "家长", Role.STAFF: "工作人员", Role.DEPT_ADMIN: "部门管理员",
    Role.SCHOOL_FINANCE: "学校财务", Role.SUPERVISOR: "电子监察", Role.SYSADMIN: "系统管理员",
}

PERSON_ROLES = frozenset({Role.RESIDENT, Role.PARENT})
STAFF_ROLES = frozenset({Role.STAFF, Role.DEPT_ADMIN, Role.SCHOOL_FINANCE, Role.SUPERVISOR, Role.SYSADMIN})
STAFF_ROLE_NAMES = frozenset(role.value for role in STAFF_ROLES)
# A department admin may hand out only these; everything else (admins, supervisors) needs a system admin, so no
# department admin can create an account as powerful as their own.
DEPT_ADMIN_GRANTABLE = frozenset({Role.STAFF, Role.SCHOOL_FINANCE})


class StaffLevel(StrEnum):
    """The tier of government a staff member works at; it must agree with their region code."""

    CITY = "city"  # 市
    DISTRICT = "district"  # 区 / 县
    TOWN = "town"  # 镇 / 街道
    VILLAGE = "village"  # 村 / 社区


LEVEL_LABELS: dict[StaffLevel, str] = {
    StaffLevel.CITY: "市", StaffLevel.DISTRICT: "区县", StaffLevel.TOWN: "镇街", StaffLevel.VILLAGE: "村社区",
}
LEVEL_REGION: dict[StaffLevel, RegionLevel] = {
    StaffLevel.CITY: RegionLevel.CITY, StaffLevel.DISTRICT: RegionLevel.DISTRICT,
    StaffLevel.TOWN: RegionLevel.TOWN, StaffLevel.VILLAGE: RegionLevel.VILLAGE,
}


def is_staff_roles(roles: Iterable[str]) -> bool:
    """True for the roles of a staff account (any staff role), False for a person's."""
    return any(role in STAFF_ROLE_NAMES for role in roles)


def normalise_staff_roles(roles: Iterable[str]) -> tuple[str, ...]:
    """Validated, de-duplicated, sorted staff roles (at least one). ValueError with a Chinese message on a
    resident role or an unknown name, so a typo never silently grants or drops a power."""
    names = set(roles)
    if not names:
        raise ValueError("至少需要一个角色")
    unknown = sorted(names - STAFF_ROLE_NAMES)
    if unknown:
        raise ValueError("不是可授予工作人员的角色：" + "、".join(unknown))
    return tuple(sorted(names))


def level_mismatch(level: StaffLevel, region_code: str) -> str | None:
    """None when the region code names a region of the staff level (市 ↔ 430100, 区县 ↔ 430124, 镇街 ↔ 9 digits,
    村社区 ↔ 12 digits), else a Chinese sentence saying what does not fit. The code must already be valid."""
    actual = region_level(region_code)
    if actual is LEVEL_REGION[level]:
        return None
    return f"行政区划代码 {region_code} 不是{LEVEL_LABELS[level]}级代码"
