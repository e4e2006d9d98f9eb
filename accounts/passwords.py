"""Staff passwords: argon2id hashing off the event loop, and the policy for passwords an administrator sets.

Hashing is deliberately slow and memory-hard (tens of milliseconds and 19 MiB per hash with the parameters
below). On the IOLoop that would stall every other request, so every hash and verify runs in a small dedicated
thread pool; argon2-cffi releases the GIL while it works. The pool is small on purpose: it bounds the memory
and CPU a burst of logins can take (workers × 19 MiB), and excess logins queue instead.

Passwords are NFKC-normalised before hashing, so the full-width digits of a Chinese input method and the ASCII
digits of a desktop keyboard are the same password. `verify_dummy` lets a login for an unknown username spend
the same time as one for a real account, so response time does not reveal which usernames exist.
"""

from __future__ import annotations

import asyncio
import secrets
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

from argon2 import Parameters, PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from accounts.errors import PASSWORD_TOO_WEAK
from core.errors import AppError, FieldError

MIN_LENGTH = 10
MAX_LENGTH = 128  # argon2 takes any length; an upper bound keeps a megabyte "password" from being hashed
POOL_WORKERS = 4
# OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1 (~20 ms on one core). Raising any of these
# later is safe: `needs_rehash` notices old hashes and the next successful login re-hashes the password.
PROFILE = Parameters(type=Type.ID, version=19, salt_len=16, hash_len=32, time_cost=2, memory_cost=19 * 1024,
                     parallelism=1)
T = TypeVar("T")


def normalise_password(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


class Passwords:
    """argon2id hash / verify / needs-rehash, each awaited on the event loop and run in the pool."""

    def __init__(self, hasher: PasswordHasher | None = None, *, workers: int = POOL_WORKERS) -> None:
        self.hasher = hasher or PasswordHasher.from_parameters(PROFILE)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2")
        self._dummy_hash: str | None = None

    async def _run(self, fn: partial[T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)

    async def hash(self, password: str) -> str:
        return await self._run(partial(self.hasher.hash, normalise_password(password)))

    async def verify(self, stored_hash: str, password: str) -> bool:
        """True when `password` matches; False for a mismatch or a corrupt hash (never raises for those)."""
        return await self._run(partial(self._verify_sync, stored_hash, normalise_password(password)))

    def _verify_sync(self, stored_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(stored_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        """Cheap (parses the parameters in the hash): true after we raise the cost or change the profile."""
        try:
            return self.hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True

    async def verify_dummy(self, password: str) -> None:
        """Spend the time of a real verification (unknown username), against a hash made once per process."""
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash(secrets.token_urlsafe(24))
        await self.verify(self._dummy_hash, password)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def password_problems(password: str, *, username: str = "") -> list[FieldError]:
    """Every rule an initial password breaks (empty list: acceptable), each with a Chinese message."""
    text = normalise_password(password)
    problems: list[tuple[str, str]] = []
    if len(text) < MIN_LENGTH:
        problems.append(("PASSWORD_TOO_SHORT", f"密码至少需要 {MIN_LENGTH} 位"))
    if len(text) > MAX_LENGTH:
        problems.append(("PASSWORD_TOO_LONG", f"密码不能超过 {MAX_LENGTH} 位"))
    if text.isdigit():
        problems.append(("PASSWORD_ALL_DIGITS", "密码不能全是数字，请加入字母或符号"))
    elif text and len(set(text)) == 1:
        problems.append(("PASSWORD_ONE_CHARACTER", "密码不能由同一个字符重复组成"))
    if text != text.strip():
        problems.append(("PASSWORD_SPACES", "密码首尾不能有空格"))
    if len(username) >= 3 and username.casefold() in text.casefold():
        problems.append(("PASSWORD_CONTAINS_USERNAME", "密码不能包含用户名"))
    return [FieldError("initial_password", code, message) for code, message in problems]


def check_initial_password(password: str, *, username: str = "", field: str = "initial_password") -> None:
    """AppError(PASSWORD_TOO_WEAK, 422) listing every broken rule; the first rule's sentence is the errmsg."""
    problems = password_problems(password, username=username)
    if problems:
        for problem in problems:
            problem.field = field
        raise AppError(PASSWORD_TOO_WEAK, errmsg=problems[0].errmsg, errors=problems)
