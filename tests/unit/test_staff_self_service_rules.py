"""Pure rules of staff self-service: who may log in with WeChat, the forced-password-change gate, and the policy
for a new password."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from accounts.staff import StaffAccount
from accounts.staff_password import check_new_password, require_password_settled
from accounts.staff_wechat import login_refusal, wechat_login_allowed
from core.errors import AppError

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
ACCOUNT = StaffAccount(
    id="01JQ0000000000000000000000", username="liujianguo", display_name="刘建国", phone_masked="138****0001",
    department_id="zwzx", department_name="宁乡市政务服务中心", region_code="430124", level="district",
    roles=("staff",), disabled=False, created_by=None, created_at=NOW, updated_at=NOW,
)


def refusal_code(account: StaffAccount) -> str | None:
    refusal = login_refusal(account, now=NOW)
    return refusal.error.code if refusal else None


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({}, None),
        ({"roles": ("staff", "dept_admin", "school_finance", "supervisor")}, None),
        ({"disabled": True}, "ACCOUNT_DISABLED"),
        ({"locked_until": NOW + timedelta(minutes=3)}, "STAFF_LOGIN_LOCKED"),
        ({"locked_until": NOW - timedelta(seconds=1)}, None),  # a lock that ran out no longer counts
        ({"roles": ("sysadmin",)}, "STAFF_WECHAT_NOT_ALLOWED"),
        ({"roles": ("staff", "sysadmin")}, "STAFF_WECHAT_NOT_ALLOWED"),  # any administrator role is enough
        ({"disabled": True, "roles": ("sysadmin",)}, "ACCOUNT_DISABLED"),  # disabled is said first
    ],
)
def test_who_may_log_in_with_wechat(changes: dict[str, object], code: str | None) -> None:
    assert refusal_code(replace(ACCOUNT, **changes)) == code  # type: ignore[arg-type]


def test_a_locked_refusal_says_when_to_retry() -> None:
    refusal = login_refusal(replace(ACCOUNT, locked_until=NOW + timedelta(seconds=90)), now=NOW)
    assert refusal is not None and refusal.status == 429 and refusal.headers == {"Retry-After": "90"}


def test_administrators_are_password_only() -> None:
    assert wechat_login_allowed(("staff",)) and not wechat_login_allowed(("sysadmin",))


@pytest.mark.parametrize(("must_change", "allowed", "refused"),
                         [(True, False, True), (True, True, False), (False, False, False), (False, True, False)])
def test_the_forced_change_gate(must_change: bool, allowed: bool, refused: bool) -> None:
    account = replace(ACCOUNT, must_change_password=must_change)
    if refused:
        with pytest.raises(AppError) as caught:
            require_password_settled(account, allowed_before_change=allowed)
        assert (caught.value.status, caught.value.error.code) == (403, "PASSWORD_CHANGE_REQUIRED")
    else:
        require_password_settled(account, allowed_before_change=allowed)


@pytest.mark.parametrize(
    ("new", "codes"),
    [
        ("Xiangjiang-2025#", []),
        ("Ningxiang-2024", ["PASSWORD_UNCHANGED"]),
        ("Ｎｉｎｇｘｉａｎｇ-2024", ["PASSWORD_UNCHANGED"]),  # the same password typed full-width
        ("123456", ["PASSWORD_TOO_SHORT", "PASSWORD_ALL_DIGITS"]),
        ("LiuJianguo-2025", ["PASSWORD_CONTAINS_USERNAME"]),
    ],
)
def test_new_password_policy(new: str, codes: list[str]) -> None:
    if not codes:
        check_new_password("Ningxiang-2024", new, username="liujianguo")
        return
    with pytest.raises(AppError) as caught:
        check_new_password("Ningxiang-2024", new, username="liujianguo")
    error = caught.value
    assert (error.status, error.error.code) == (422, "PASSWORD_TOO_WEAK")
    assert [(e.field, e.errcode) for e in error.errors] == [("new_password", code) for code in codes]
    assert error.message == error.errors[0].errmsg
