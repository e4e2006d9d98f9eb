"""The SMS channel of the pipeline: decrypt the phone just before sending, call the (blocking) provider adapter
in a thread, and turn its answer into Accepted / DeliveryError.

The phone stays a FieldCipher token everywhere else (outbox, messages, broker); the clear number exists only
in this call. Our message id goes with the send (Aliyun OutId, Tencent SessionContext), so a status report can
be matched to the message even before the worker has recorded the provider's id.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor
from typing import Any

from accounts.people import ContactPoints
from core.pii import FieldCipher, PiiDecryptError
from notifications.channels.delivery_port import Accepted, DeliveryError
from notifications.channels.sms import SmsMessage, SmsPermanentError, SmsSender, SmsTemporaryError
from notifications.states import Reason

BAD_NUMBER_CODES = frozenset({"isv.MOBILE_NUMBER_ILLEGAL", "InvalidParameterValue.IncorrectPhoneNumber"})


class SmsChannel:
    def __init__(self, sender: SmsSender, cipher: FieldCipher, executor: Executor | None = None) -> None:
        self.sender, self.cipher, self.executor = sender, cipher, executor

    async def send(self, message: dict[str, Any], contact: ContactPoints) -> Accepted:
        if not contact.phone_cipher:
            raise DeliveryError(Reason.NO_CHANNEL, transient=False, detail="no verified phone")
        try:
            phone = self.cipher.decrypt(contact.phone_cipher, context=contact.phone_context)
        except PiiDecryptError as exc:
            raise DeliveryError(Reason.BAD_ADDRESS, transient=False, code="UNDECRYPTABLE", detail=str(exc)) from None
        content = message["content"]
        sms = SmsMessage(phone, content["template"], dict(content["params"]), reference=message["_id"])
        try:
            result = await asyncio.get_running_loop().run_in_executor(self.executor, self.sender.send, sms)
        except SmsTemporaryError as exc:
            raise DeliveryError(Reason.TRANSIENT, transient=True, code=exc.code, detail=exc.message,
                                provider=exc.provider) from None
        except SmsPermanentError as exc:
            reason = Reason.BAD_ADDRESS if exc.code in BAD_NUMBER_CODES else Reason.REJECTED
            raise DeliveryError(reason, transient=False, code=exc.code, detail=exc.message,
                                provider=exc.provider) from None
        return Accepted(result.provider, result.biz_id, delivered=False)
