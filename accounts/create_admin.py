"""`python -m accounts.create_admin --username U --mobile M`: create the first system administrator.

Staff accounts are created by administrators, so the very first one needs this bootstrap. The password is read
from the terminal (asked twice, not echoed) or, when stdin is not a terminal, from its first line — never from
the command line, where it would sit in the shell history and in `ps` for every user of the machine. The policy
of initial passwords applies (at least 10 characters, not all digits, not containing the username). The account
is written to the audit trail with no actor (`actor_staff_id: null`), and signs in like any staff member:
password, then an SMS code to the mobile given here.

Settings come from the usual `ZSB_*` variables (the MongoDB of `ZSB_MONGODB_URI`, the PII keys).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from typing import Any

from pymongo import AsyncMongoClient

from accounts.passwords import Passwords
from accounts.phone import PhoneInvalid, parse_cn_mobile
from accounts.regions import RegionCodeInvalid
from accounts.roles import StaffLevel, level_mismatch
from accounts.sessions import LoginSessions
from accounts.staff import NewStaff, StaffRepository
from accounts.staff_admin import StaffAdministration
from accounts.staff_audit import StaffAuditRepository
from config.pii import pii_from_settings
from config.settings import Settings, get_settings
from core.errors import AppError


def read_password(stdin: Any = None) -> str:
    stream = stdin or sys.stdin
    if stream.isatty():
        first = getpass.getpass("新管理员的密码: ")
        if getpass.getpass("再输入一次: ") != first:
            raise SystemExit("两次输入的密码不一致")
        return first
    return stream.readline().rstrip("\r\n")


async def create_admin(settings: Settings, new: NewStaff, password: str) -> str:
    """Create the account (indexes first, so the username is unique even before the API ever ran)."""
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongodb_uri, serverSelectionTimeoutMS=settings.mongodb_server_selection_timeout_ms, tz_aware=True)
    passwords = Passwords(workers=1)
    try:
        db = mongo[settings.mongodb_db]
        staff, audit = StaffRepository(db), StaffAuditRepository(db)
        await staff.ensure_indexes()
        await audit.ensure_indexes()
        cipher, index = pii_from_settings(settings)
        admin = StaffAdministration(staff, audit, passwords, LoginSessions.from_settings(db, settings), cipher, index)
        account = await admin.create_as_system(new, initial_password=password, must_change_password=False)
        return f"已创建系统管理员 {account.username}（{account.id}），手机 {account.phone_masked}"
    finally:
        passwords.close()
        await mongo.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--username", required=True)
    parser.add_argument("--mobile", required=True, help="receives the SMS code of every sign-in")
    parser.add_argument("--display-name", default="系统管理员")
    parser.add_argument("--department-id", default="sysadmin")
    parser.add_argument("--department-name", default="系统管理")
    parser.add_argument("--region-code", default="430100", help="GB/T 2260; a sysadmin manages every region")
    parser.add_argument("--level", default=StaffLevel.CITY.value, choices=[level.value for level in StaffLevel])
    args = parser.parse_args(argv)
    try:
        mobile = parse_cn_mobile(args.mobile)
        problem = level_mismatch(StaffLevel(args.level), args.region_code)
    except (PhoneInvalid, RegionCodeInvalid) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if problem:
        print(problem, file=sys.stderr)
        return 2
    new = NewStaff(username=args.username, display_name=args.display_name, mobile=mobile,
                   department_id=args.department_id, department_name=args.department_name,
                   region_code=args.region_code, level=args.level, roles=("sysadmin",))
    try:
        print(asyncio.run(create_admin(get_settings(), new, read_password())))
    except AppError as exc:
        details = "；".join(e.errmsg for e in exc.errors) or exc.message
        print(f"{exc.error.code}: {details}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
