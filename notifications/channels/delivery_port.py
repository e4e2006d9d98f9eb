"""What the delivery step needs from a channel: send one rendered message to one address, and say how it went.

Each channel (SMS with provider failover, mini-program subscribe message, official-account template message)
turns its provider's answers into `Accepted` or a `DeliveryError` that says whether trying again later can help
(`transient`) and why it failed (a `states.Reason`), so the pipeline's retry and fallback rules are written once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from accounts.people import ContactPoints
from notifications.states import Reason


@dataclass(frozen=True, slots=True)
class Accepted:
    provider: str  # aliyun, tencent, wechat_mp, wechat_oa
    ref: str  # the provider's id of this send (for status reports); "" when it gives none
    delivered: bool  # True when acceptance means delivered (WeChat); False while a report is awaited (SMS)


class DeliveryError(Exception):
    def __init__(self, reason: Reason, *, transient: bool, code: str = "", detail: str = "",
                 provider: str = "") -> None:
        super().__init__(f"{reason} {code} {detail}".strip())
        self.reason, self.transient, self.code, self.detail, self.provider = reason, transient, code, detail, provider


class ChannelSender(Protocol):
    async def send(self, message: dict[str, Any], contact: ContactPoints) -> Accepted:
        """Send `message` (its `content` is the channel's payload, `_id` our reference) to `contact`."""
        ...
