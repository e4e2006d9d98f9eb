"""The scope check, table-driven: every rule of accounts/scopes.py, allowed and refused, with the 404/403 policy."""

from __future__ import annotations

import pytest

from accounts.identity import Principal
from accounts.scopes import (
    Action,
    Actor,
    Kind,
    Resource,
    Visibility,
    authorize,
    is_allowed,
    require_resident,
    require_staff,
    visible_scope,
)
from core.errors import AppError

NINGXIANG, TOWN, VILLAGE, CHANGSHA, FURONG = "430124", "430124101", "430124101201", "430100", "430102"


def staff(sid: str, roles: set[str], dept: str, region: str) -> Actor:
    return Actor(roles=frozenset(roles), staff_id=sid, department_id=dept, region_code=region)


RESIDENT_A = Actor(roles=frozenset({"resident"}), person_id="p-a")
PARENT_B = Actor(roles=frozenset({"resident", "parent"}), person_id="p-b")
CLERK = staff("s-clerk", {"staff"}, "zwzx", NINGXIANG)  # 宁乡 政务服务中心
TOWN_CLERK = staff("s-town", {"staff"}, "zwzx", TOWN)
OTHER_DEPT_CLERK = staff("s-jyj", {"staff"}, "jyj", NINGXIANG)  # 教育局
CITY_CLERK = staff("s-city", {"staff"}, "zwzx", CHANGSHA)
DEPT_ADMIN = staff("s-admin", {"dept_admin"}, "zwzx", NINGXIANG)
CITY_DEPT_ADMIN = staff("s-cadmin", {"dept_admin"}, "zwzx", CHANGSHA)
ADMIN_WHO_HANDLES_CASES = staff("s-both", {"dept_admin", "staff"}, "zwzx", NINGXIANG)
SUPERVISOR = staff("s-sup", {"supervisor"}, "jiancha", NINGXIANG)
SYSADMIN = staff("s-sys", {"sysadmin"}, "it", CHANGSHA)
FINANCE = staff("s-fin", {"school_finance"}, "school-1", TOWN)
NO_REGION_CLERK = Actor(roles=frozenset({"staff"}), staff_id="s-x", department_id="zwzx", region_code=None)

CASE_VILLAGE = Resource(Kind.CASE, "c1", owner_person_id="p-a", department_ids=("zwzx",), region_code=VILLAGE)
CASE_TWO_DEPTS = Resource(Kind.CASE, "c2", owner_person_id="p-b", department_ids=("jyj", "zwzx"),
                          region_code=NINGXIANG)
CASE_OTHER_DEPT = Resource(Kind.CASE, "c3", owner_person_id="p-b", department_ids=("jyj",), region_code=NINGXIANG)
CASE_OTHER_COUNTY = Resource(Kind.CASE, "c4", owner_person_id="p-b", department_ids=("zwzx",), region_code=FURONG)
CASE_CITY = Resource(Kind.CASE, "c5", owner_person_id="p-a", department_ids=("zwzx",), region_code=CHANGSHA)
CASE_NO_REGION = Resource(Kind.CASE, "c6", owner_person_id="p-a", department_ids=("zwzx",), region_code=None)
FEE = Resource(Kind.FEE, "f1", owner_person_id="p-b", department_ids=("school-1",), region_code=TOWN)
PROFILE_A = Resource(Kind.PERSON, "p-a", owner_person_id="p-a")


def account(sid: str, roles: set[str], dept: str = "zwzx", region: str = TOWN) -> Resource:
    return Resource(Kind.STAFF_ACCOUNT, sid, department_ids=(dept,), region_code=region, roles=frozenset(roles))


CLERK_ACCOUNT = account("s-9", {"staff"})
FINANCE_ACCOUNT = account("s-10", {"school_finance"})
ADMIN_ACCOUNT = account("s-11", {"dept_admin"})
SUPERVISOR_ACCOUNT = account("s-12", {"supervisor"})
OTHER_DEPT_ACCOUNT = account("s-13", {"staff"}, dept="jyj")
OTHER_COUNTY_ACCOUNT = account("s-14", {"staff"}, region=FURONG)
NEW_CLERK = Resource(Kind.STAFF_ACCOUNT, None, department_ids=("zwzx",), region_code=VILLAGE,
                     roles=frozenset({"staff"}))
NEW_ADMIN = Resource(Kind.STAFF_ACCOUNT, None, department_ids=("zwzx",), region_code=VILLAGE,
                     roles=frozenset({"dept_admin"}))
PROMOTE_CLERK = account("s-9", {"staff", "dept_admin"})  # CLERK_ACCOUNT about to become an admin

OK, NOT_FOUND, STAFF_NOT_FOUND, FORBIDDEN = "ok", "RESOURCE_NOT_FOUND", "STAFF_NOT_FOUND", "FORBIDDEN"
R, A, M = Action.READ, Action.ACT, Action.MANAGE

MATTER_OWN = Resource(Kind.MATTER, "430182-GA-0001", department_ids=("zwzx",), region_code=NINGXIANG)
MATTER_OTHER = Resource(Kind.MATTER, "430182-JY-0001", department_ids=("jyj",), region_code=NINGXIANG)

RULES = [
    # -- residents: only what they own; others' records are "not found" (existence not leaked)
    ("resident reads own case", RESIDENT_A, R, CASE_VILLAGE, OK),
    ("resident acts on own case", RESIDENT_A, A, CASE_VILLAGE, OK),
    ("resident reads own profile", RESIDENT_A, R, PROFILE_A, OK),
    ("resident reads another's case", RESIDENT_A, R, CASE_TWO_DEPTS, NOT_FOUND),
    ("parent acts on another's case", PARENT_B, A, CASE_VILLAGE, NOT_FOUND),
    ("parent pays own fee", PARENT_B, A, FEE, OK),
    ("resident reads another's fee", RESIDENT_A, R, FEE, NOT_FOUND),
    ("resident manages own case", RESIDENT_A, M, CASE_VILLAGE, NOT_FOUND),
    ("resident reads a staff account", RESIDENT_A, R, CLERK_ACCOUNT, STAFF_NOT_FOUND),
    ("resident creates staff", RESIDENT_A, M, NEW_CLERK, FORBIDDEN),  # names no record: nothing to hide
    # -- staff: own department, own region subtree; 403 outside it
    ("clerk reads a village case below", CLERK, R, CASE_VILLAGE, OK),
    ("clerk acts on a village case below", CLERK, A, CASE_VILLAGE, OK),
    ("clerk acts on a two-department case", CLERK, A, CASE_TWO_DEPTS, OK),
    ("clerk reads another department's case", CLERK, R, CASE_OTHER_DEPT, FORBIDDEN),
    ("clerk reads another county's case", CLERK, R, CASE_OTHER_COUNTY, FORBIDDEN),
    ("clerk reads a city-level case above", CLERK, R, CASE_CITY, FORBIDDEN),
    ("town clerk reads a county-level case", TOWN_CLERK, R, CASE_TWO_DEPTS, FORBIDDEN),
    ("town clerk reads a village case below", TOWN_CLERK, R, CASE_VILLAGE, OK),
    ("city clerk reads a village case", CITY_CLERK, R, CASE_VILLAGE, OK),
    ("city clerk reads another county of the city", CITY_CLERK, R, CASE_OTHER_COUNTY, OK),
    ("other-department clerk reads zwzx case", OTHER_DEPT_CLERK, R, CASE_VILLAGE, FORBIDDEN),
    ("other-department clerk reads shared case", OTHER_DEPT_CLERK, R, CASE_TWO_DEPTS, OK),
    ("clerk reads a case without region", CLERK, R, CASE_NO_REGION, FORBIDDEN),  # bad data fails closed
    ("clerk without region reads a case", NO_REGION_CLERK, R, CASE_VILLAGE, FORBIDDEN),
    ("clerk reads a fee", CLERK, R, FEE, FORBIDDEN),
    ("clerk manages a case", CLERK, M, CASE_VILLAGE, FORBIDDEN),
    ("clerk reads a colleague's account", CLERK, R, CLERK_ACCOUNT, FORBIDDEN),
    ("clerk creates staff", CLERK, M, NEW_CLERK, FORBIDDEN),
    ("clerk reads own account", staff("s-9", {"staff"}, "zwzx", TOWN), R, CLERK_ACCOUNT, OK),
    ("clerk disables own account", staff("s-9", {"staff"}, "zwzx", TOWN), M, CLERK_ACCOUNT, FORBIDDEN),
    # -- school finance: fees of its own school
    ("finance acts on own school's fee", FINANCE, A, FEE, OK),
    ("finance reads a case", FINANCE, R, CASE_VILLAGE, FORBIDDEN),
    ("finance of another school", staff("s-f2", {"school_finance"}, "school-2", TOWN), R, FEE, FORBIDDEN),
    # -- department admin: staff of own department and region subtree, grantable roles only
    ("dept admin creates a clerk below", DEPT_ADMIN, M, NEW_CLERK, OK),
    ("dept admin disables a clerk below", DEPT_ADMIN, M, CLERK_ACCOUNT, OK),
    ("dept admin manages a finance account", DEPT_ADMIN, M, FINANCE_ACCOUNT, OK),
    ("dept admin reads an admin account", DEPT_ADMIN, R, ADMIN_ACCOUNT, OK),
    ("dept admin creates an admin", DEPT_ADMIN, M, NEW_ADMIN, FORBIDDEN),
    ("dept admin promotes a clerk to admin", DEPT_ADMIN, M, PROMOTE_CLERK, FORBIDDEN),
    ("dept admin disables another admin", DEPT_ADMIN, M, ADMIN_ACCOUNT, FORBIDDEN),
    ("dept admin disables a supervisor", DEPT_ADMIN, M, SUPERVISOR_ACCOUNT, FORBIDDEN),
    ("dept admin disables another department's staff", DEPT_ADMIN, M, OTHER_DEPT_ACCOUNT, FORBIDDEN),
    ("dept admin reads another department's staff", DEPT_ADMIN, R, OTHER_DEPT_ACCOUNT, FORBIDDEN),
    ("dept admin disables another county's staff", DEPT_ADMIN, M, OTHER_COUNTY_ACCOUNT, FORBIDDEN),
    ("city dept admin disables a county's staff", CITY_DEPT_ADMIN, M, OTHER_COUNTY_ACCOUNT, OK),
    ("dept admin reads a case", DEPT_ADMIN, R, CASE_VILLAGE, FORBIDDEN),  # roles do not imply `staff`
    ("dept admin who is also staff reads a case", ADMIN_WHO_HANDLES_CASES, R, CASE_VILLAGE, OK),
    ("dept admin changes own roles", staff("s-11", {"dept_admin"}, "zwzx", TOWN), M, ADMIN_ACCOUNT, FORBIDDEN),
    # -- supervisor: read everything in the subtree, never change anything
    ("supervisor reads any department's case", SUPERVISOR, R, CASE_OTHER_DEPT, OK),
    ("supervisor reads a village case", SUPERVISOR, R, CASE_VILLAGE, OK),
    ("supervisor reads a fee", SUPERVISOR, R, FEE, OK),
    ("supervisor reads a staff account", SUPERVISOR, R, ADMIN_ACCOUNT, OK),
    ("supervisor reads another county's case", SUPERVISOR, R, CASE_OTHER_COUNTY, FORBIDDEN),
    ("supervisor reads a city-level case", SUPERVISOR, R, CASE_CITY, FORBIDDEN),
    ("supervisor acts on a case", SUPERVISOR, A, CASE_VILLAGE, FORBIDDEN),
    ("supervisor disables staff", SUPERVISOR, M, CLERK_ACCOUNT, FORBIDDEN),
    # -- sysadmin: staff accounts anywhere, but not residents' files
    ("sysadmin creates an admin anywhere", SYSADMIN, M, NEW_ADMIN, OK),
    ("sysadmin disables another county's staff", SYSADMIN, M, OTHER_COUNTY_ACCOUNT, OK),
    ("sysadmin disables a supervisor", SYSADMIN, M, SUPERVISOR_ACCOUNT, OK),
    ("sysadmin outside its city", SYSADMIN, M, account("s-15", {"staff"}, region="110101"), OK),
    ("sysadmin reads a resident's case", SYSADMIN, R, CASE_VILLAGE, FORBIDDEN),
    ("sysadmin acts on a fee", SYSADMIN, A, FEE, FORBIDDEN),
    ("sysadmin reads a resident's profile", SYSADMIN, R, PROFILE_A, FORBIDDEN),
    ("sysadmin disables itself", SYSADMIN, M, account("s-sys", {"sysadmin"}, "it", CHANGSHA), FORBIDDEN),
    # -- the catalogue: the department admin of the implementing department manages its matters
    ("dept admin publishes own department's matter", DEPT_ADMIN, M, MATTER_OWN, OK),
    ("dept admin publishes another department's matter", DEPT_ADMIN, M, MATTER_OTHER, FORBIDDEN),
    ("clerk publishes own department's matter", CLERK, M, MATTER_OWN, FORBIDDEN),
    ("supervisor reads a matter in region", SUPERVISOR, R, MATTER_OWN, OK),
    ("supervisor publishes a matter", SUPERVISOR, M, MATTER_OWN, FORBIDDEN),
    ("sysadmin publishes a matter", SYSADMIN, M, MATTER_OWN, FORBIDDEN),
    # -- a token's roles alone make no staff: without a staff id the actor is treated as a resident
    ("staff roles without staff id", Actor(roles=frozenset({"sysadmin"})), M, CLERK_ACCOUNT, STAFF_NOT_FOUND),
]


@pytest.mark.parametrize(("name", "who", "action", "resource", "expected"), RULES, ids=[r[0] for r in RULES])
def test_rule(name: str, who: Actor, action: Action, resource: Resource, expected: str) -> None:
    if expected == OK:
        authorize(who, action, resource)
        assert is_allowed(who, action, resource)
        return
    assert not is_allowed(who, action, resource)
    with pytest.raises(AppError) as caught:
        authorize(who, action, resource)
    assert caught.value.error.code == expected
    assert caught.value.status == (403 if expected == FORBIDDEN else 404)


def test_a_residents_refusal_is_indistinguishable_from_a_missing_record() -> None:
    """The 404 a resident gets for someone else's record carries exactly the code and message of "missing"."""
    from accounts.errors import RESOURCE_NOT_FOUND

    with pytest.raises(AppError) as caught:
        authorize(RESIDENT_A, Action.READ, CASE_OTHER_DEPT)
    assert (caught.value.error, caught.value.message) == (RESOURCE_NOT_FOUND, RESOURCE_NOT_FOUND.message)


@pytest.mark.parametrize(
    ("who", "kind", "expected"),
    [
        (SYSADMIN, Kind.STAFF_ACCOUNT, Visibility(None, None)),
        (SUPERVISOR, Kind.STAFF_ACCOUNT, Visibility(None, NINGXIANG)),
        (SUPERVISOR, Kind.CASE, Visibility(None, NINGXIANG)),
        (DEPT_ADMIN, Kind.STAFF_ACCOUNT, Visibility("zwzx", NINGXIANG)),
        (CLERK, Kind.CASE, Visibility("zwzx", NINGXIANG)),
        (FINANCE, Kind.FEE, Visibility("school-1", TOWN)),
        (CLERK, Kind.STAFF_ACCOUNT, None),
        (SYSADMIN, Kind.CASE, None),
        (DEPT_ADMIN, Kind.CASE, None),
        (RESIDENT_A, Kind.CASE, None),  # residents list their own records by owner, not by scope
    ],
)
def test_visible_scope(who: Actor, kind: Kind, expected: Visibility | None) -> None:
    if expected is not None:
        assert visible_scope(who, kind) == expected
        return
    with pytest.raises(AppError) as caught:
        visible_scope(who, kind)
    assert caught.value.status == 403


def test_token_kind_guards() -> None:
    staff_token = Principal("s-1", ("staff",), "sess")
    resident_token = Principal("p-1", ("resident",), "sess")
    require_staff(staff_token)
    require_resident(resident_token)
    with pytest.raises(AppError) as caught:
        require_staff(resident_token)
    assert caught.value.error.code == "STAFF_ONLY"
    with pytest.raises(AppError) as caught:
        require_resident(staff_token)
    assert caught.value.error.code == "RESIDENT_ONLY"
    assert staff_token.is_staff and not resident_token.is_staff
