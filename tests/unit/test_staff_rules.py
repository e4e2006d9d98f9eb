"""Pure rules of staff accounts: the initial-password policy, role names, level ↔ region code, usernames."""

from __future__ import annotations

import pytest

from accounts.passwords import check_initial_password, normalise_password, password_problems
from accounts.roles import StaffLevel, is_staff_roles, level_mismatch, normalise_staff_roles
from accounts.staff import USERNAME_RE, normalise_username
from core.errors import AppError


@pytest.mark.parametrize(
    ("password", "codes"),
    [
        ("Ningxiang-2024", []),
        ("correct horse battery", []),
        ("政务服务中心2024年春", []),  # Chinese characters count like any other
        ("short1!", ["PASSWORD_TOO_SHORT"]),
        ("1234567890", ["PASSWORD_ALL_DIGITS"]),
        ("１２３４５６７８９０", ["PASSWORD_ALL_DIGITS"]),  # full-width digits are digits too (NFKC)
        ("123456", ["PASSWORD_TOO_SHORT", "PASSWORD_ALL_DIGITS"]),  # every broken rule at once
        ("aaaaaaaaaaaa", ["PASSWORD_ONE_CHARACTER"]),
        (" Ningxiang-2024", ["PASSWORD_SPACES"]),
        ("x" * 129 + "1", ["PASSWORD_TOO_LONG"]),
        ("LiuJianguo-2024", ["PASSWORD_CONTAINS_USERNAME"]),  # case-insensitive
    ],
)
def test_password_policy(password: str, codes: list[str]) -> None:
    assert [p.errcode for p in password_problems(password, username="liujianguo")] == codes


def test_policy_error_is_422_with_chinese_messages_for_every_rule() -> None:
    with pytest.raises(AppError) as caught:
        check_initial_password("123456", username="liujianguo")
    error = caught.value
    assert (error.status, error.error.code) == (422, "PASSWORD_TOO_WEAK")
    assert error.message == "密码至少需要 10 位"
    assert [e.field for e in error.errors] == ["initial_password", "initial_password"]
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in e.errmsg) for e in error.errors)
    check_initial_password("Ningxiang-2024", username="liujianguo")  # fine: no exception


def test_password_normalisation_joins_full_width_and_ascii() -> None:
    assert normalise_password("Ｐａｓｓ１２３") == "Pass123"


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        (["staff"], ("staff",)),
        (["school_finance", "staff", "staff"], ("school_finance", "staff")),
        (["sysadmin"], ("sysadmin",)),  # roles do not imply one another
    ],
)
def test_staff_roles(roles: list[str], expected: tuple[str, ...]) -> None:
    assert normalise_staff_roles(roles) == expected


@pytest.mark.parametrize(("roles", "message"), [([], "至少"), (["resident"], "resident"), (["root"], "root")])
def test_bad_staff_roles(roles: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        normalise_staff_roles(roles)


def test_staff_and_person_roles_are_disjoint() -> None:
    assert is_staff_roles(["staff"]) and is_staff_roles(["supervisor"])
    assert not is_staff_roles(["resident", "parent"]) and not is_staff_roles([])


@pytest.mark.parametrize(
    ("level", "code", "fits"),
    [
        (StaffLevel.CITY, "430100", True),
        (StaffLevel.CITY, "430124", False),
        (StaffLevel.DISTRICT, "430124", True),
        (StaffLevel.DISTRICT, "430124000000", True),
        (StaffLevel.TOWN, "430124101", True),
        (StaffLevel.TOWN, "430124", False),
        (StaffLevel.VILLAGE, "430124101201", True),
        (StaffLevel.VILLAGE, "430124101", False),
        (StaffLevel.CITY, "430000", False),  # a province is no staff level here
    ],
)
def test_level_must_fit_region(level: StaffLevel, code: str, fits: bool) -> None:
    problem = level_mismatch(level, code)
    assert (problem is None) is fits
    if problem:
        assert code in problem


@pytest.mark.parametrize(("raw", "valid"), [(" LiuJianGuo ", True), ("ｌｉｕ", True), ("zhou.min", True),
                                            ("ab", False), ("1abc", False), ("刘建国", False), ("a b c", False)])
def test_usernames(raw: str, valid: bool) -> None:
    assert bool(USERNAME_RE.fullmatch(normalise_username(raw))) is valid
