"""Alipay mini-program login (支付宝授权): the payer's Alipay identity, vouched for by Alipay, kept on the person.

The mini-program calls `my.getAuthCode({scopes: 'auth_base'})` (silent, no consent page) and sends the code to
`POST /api/v1/me/alipay`; `AlipayClient.user_of` exchanges it (`alipay.system.oauth.token`, the official SDK
in its thread pool) for the user's open_id (or user_id, for an app still on user ids), and the person keeps it
like their WeChat openids (accounts/people.py): one Alipay identity belongs to one person (unique indexes; 409
`ALIPAY_TAKEN` and an account event for the owner), linking another replaces it, the same one again is a no-op.
Alipay mini-program orders (payments/order_service.py) name this identity as the buyer, so only the person's
own Alipay can pay them. The access token is not kept: nothing here calls Alipay on the user's behalf.
The code, the ids and the tokens are never logged.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from pymongo.errors import DuplicateKeyError

from accounts import errors as AE
from accounts.events import AccountEventRepository
from accounts.people import Person, PersonRepository
from core.errors import AppError
from payments import order_errors as OE
from payments.alipay import AlipayClient
from payments.alipay_types import AlipayUser
from payments.errors import ProviderRejected, ProviderUnavailable

log = structlog.get_logger(__name__)
# Alipay's refusals of the code itself: the mini-program must ask for a new one.
CODE_REFUSALS = frozenset({"isv.code-invalid", "isv.grant-type-invalid", "isv.unmatched-app-id"})


@dataclass
class AlipayAccounts:
    people: PersonRepository
    events: AccountEventRepository
    alipay: AlipayClient

    async def link(self, person_id: str, auth_code: str) -> Person:
        user = await self._user(auth_code)
        current = await self.people.get(person_id)
        if current is None or current.disabled:
            raise AppError(AE.ACCOUNT_DISABLED)
        if (current.alipay_open_id, current.alipay_user_id) == (user.open_id, user.user_id):
            return current  # the same Alipay again (a retried request)
        try:
            person = await self.people.link_alipay(person_id, open_id=user.open_id, user_id=user.user_id)
        except DuplicateKeyError:
            owner = await self.people.find_by_alipay(open_id=user.open_id, user_id=user.user_id)
            if owner is not None and owner.id != person_id:
                await self.events.record(owner.id, "alipay_link_attempt_by_other", {"other_person_id": person_id})
            log.warning("alipay_taken", person_id=person_id, owner_id=owner.id if owner else None)
            raise AppError(OE.ALIPAY_TAKEN) from None
        except LookupError:
            raise AppError(AE.ACCOUNT_DISABLED) from None
        replaced = bool(current.alipay_open_id or current.alipay_user_id)
        await self.events.record(person_id, "alipay_linked", {"replaced": replaced})
        log.info("alipay_linked", person_id=person_id, by="open_id" if user.open_id else "user_id", replaced=replaced)
        return person

    async def unlink(self, person_id: str) -> Person:
        """Forget the Alipay identity (idempotent); Alipay mini-program payments need a new link afterwards."""
        before = await self.people.get(person_id)
        person = await self.people.unlink_alipay(person_id)
        if person is None:
            raise AppError(AE.ACCOUNT_DISABLED)
        if before is not None and (before.alipay_open_id or before.alipay_user_id):
            await self.events.record(person_id, "alipay_unlinked", {})
            log.info("alipay_unlinked", person_id=person_id)
        return person

    async def _user(self, auth_code: str) -> AlipayUser:
        try:
            return await self.alipay.user_of(auth_code)
        except ProviderRejected as exc:
            if exc.code in CODE_REFUSALS:
                raise AppError(OE.ALIPAY_CODE_INVALID) from None
            log.warning("alipay_login_refused", code=exc.code)
            raise AppError(OE.ALIPAY_UNAVAILABLE) from None
        except ProviderUnavailable:
            raise AppError(OE.ALIPAY_UNAVAILABLE) from None
