"""The first sysadmin (`python -m accounts.create_admin`, password on stdin, never argv) and the demo staff seed."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from config.wiring import Dependencies
from core.masking import find_unmasked
from devstack.demo_seed import DEMO_STAFF, seed_demo_staff
from tests.support.sms import random_phone
from tests.support.staff import new_username


def run_cli(env: dict[str, str], *args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "accounts.create_admin", *args], input=stdin, env=env,
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.slow
async def test_create_admin_reads_the_password_from_stdin(deps: Dependencies, subprocess_env: dict[str, str]) -> None:
    username, phone = new_username("root"), random_phone()
    done = await asyncio.to_thread(run_cli, subprocess_env, "--username", username, "--mobile", phone,
                                   stdin="Bootstrap-pass-2024\n")
    assert done.returncode == 0, done.stderr
    assert username in done.stdout and find_unmasked(done.stdout + done.stderr) == []
    account = await deps.staff_admin.staff.find_by_username(username)
    assert account is not None and account.roles == ("sysadmin",) and not account.must_change_password
    credentials = await deps.staff_admin.staff.credentials(username)
    assert credentials and await deps.staff_admin.passwords.verify(credentials.password_hash, "Bootstrap-pass-2024")
    audit = await deps.staff_admin.audit.for_target(account.id)
    assert audit[0]["action"] == "staff_created" and audit[0]["actor_staff_id"] is None

    again = await asyncio.to_thread(run_cli, subprocess_env, "--username", username, "--mobile", phone,
                                    stdin="Bootstrap-pass-2024\n")
    assert again.returncode == 1 and "STAFF_USERNAME_TAKEN" in again.stderr
    weak = await asyncio.to_thread(run_cli, subprocess_env, "--username", new_username("root"), "--mobile", phone,
                                   stdin="12345678901\n")
    assert weak.returncode == 1 and "PASSWORD_TOO_WEAK" in weak.stderr and "数字" in weak.stderr
    bad_phone = await asyncio.to_thread(run_cli, subprocess_env, "--username", new_username("root"), "--mobile",
                                        "0731-1234567", stdin="Bootstrap-pass-2024\n")
    assert bad_phone.returncode == 2


async def test_demo_seed_is_idempotent(deps: Dependencies) -> None:
    first = await seed_demo_staff(deps.staff_admin)
    assert set(first) <= {d.username for d in DEMO_STAFF}  # another test may have seeded already
    assert await seed_demo_staff(deps.staff_admin) == []
    for demo in DEMO_STAFF:
        account = await deps.staff_admin.staff.find_by_username(demo.username)
        assert account is not None and set(account.roles) == set(demo.roles)
        assert account.phone_masked == demo.phone[:3] + "****" + demo.phone[-4:]
        assert await deps.db["staff_accounts"].count_documents({"username": demo.username}) == 1
