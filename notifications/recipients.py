"""Who receives a notification and through which channels, in the order they are tried.

A recipient is a person or a staff member named by id in the outbox event. Their contact points (WeChat openids,
the encrypted phone) come from accounts in one query per kind; preferences from notifications. The chain is
WeChat subscribe message → official-account template message → SMS, keeping only channels the recipient can be
reached on, the template has a part for, and the person has not switched off. The first channel is tried;
each failure WeChat cannot recover from moves to the next one, once (states.FALLBACK_REASONS).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from accounts.people import ContactPoints, PersonRepository
from accounts.regions import RegionCodeInvalid, containing_prefixes
from accounts.staff import StaffRepository
from notifications.preferences import PreferenceRepository, Preferences
from notifications.states import Channel, Reason
from notifications.templates import Rendered

Key = tuple[str, str]  # (kind, id)
_ORDER = (Channel.WECHAT_SUBSCRIBE, Channel.WECHAT_TEMPLATE, Channel.SMS)


@dataclass(frozen=True, slots=True)
class Reach:
    kind: str
    id: str
    contact: ContactPoints | None
    prefs: Preferences = field(default_factory=Preferences)


def address_of(contact: ContactPoints, channel: Channel) -> str | None:
    """The openid or phone token a channel would use; None when the recipient has none."""
    if channel is Channel.WECHAT_SUBSCRIBE:
        return contact.mp_openid
    if channel is Channel.WECHAT_TEMPLATE:
        return contact.oa_openid
    if channel is Channel.SMS:
        return contact.phone_cipher
    return None


def channel_chain(reach: Reach, rendered: Rendered) -> tuple[list[Channel], Reason | None, str]:
    """The channels to try in order, or an empty list with the reason and a Chinese explanation."""
    contact = reach.contact
    if contact is None:
        return [], Reason.RECIPIENT_NOT_FOUND, "收件人不存在"
    if contact.disabled:
        return [], Reason.RECIPIENT_DISABLED, "收件人账号已停用"
    allowed = {Channel.WECHAT_SUBSCRIBE: reach.prefs.wechat, Channel.WECHAT_TEMPLATE: reach.prefs.wechat,
               Channel.SMS: reach.prefs.sms}
    reachable = [c for c in _ORDER if rendered.parts.get(c.value) is not None and address_of(contact, c)]
    chain = [c for c in reachable if allowed[c]]
    if chain:
        return chain, None, ""
    if reachable:
        return [], Reason.NO_CHANNEL, "本人已关闭可用的通知渠道，仅站内消息"
    return [], Reason.NO_CHANNEL, "没有可用的通知渠道（未绑定微信、未验证手机号）"


def _containing(region_code: object) -> list[str] | None:
    try:
        return containing_prefixes(region_code) if isinstance(region_code, str) else None
    except RegionCodeInvalid:
        return None


class Directory:
    """Looks recipients up in bulk: one query per kind, plus one for preferences when asked."""

    def __init__(self, people: PersonRepository, staff: StaffRepository, prefs: PreferenceRepository) -> None:
        self.people, self.staff, self.prefs = people, staff, prefs

    async def expand(self, recipients: list[dict[str, str]], data: dict[str, object]) -> list[Key]:
        """The event's recipients as people and staff members, in order, each once. A group (core/outbox.py
        `department`, `region_supervisors`) becomes its members at this moment; a group with no member is kept
        as itself, so it is recorded as a failure with its reason instead of vanishing."""
        keys: list[Key] = []
        for recipient in recipients:
            kind, rid = recipient["kind"], recipient["id"]
            members: list[str] | None = None
            if kind == "department":
                members = await self.staff.ids_with_role("staff", department_id=rid,
                                                         region_prefixes=_containing(data.get("region_code")))
            elif kind == "region_supervisors":
                prefixes = _containing(rid)
                members = await self.staff.ids_with_role("supervisor", region_prefixes=prefixes) if prefixes else []
            if members:
                keys += [("staff", member) for member in members]
            else:
                keys.append((kind, rid))
        return list(dict.fromkeys(keys))

    async def reach(self, recipients: list[Key], *, with_prefs: bool = True) -> dict[Key, Reach]:
        person_ids = [rid for kind, rid in recipients if kind == "person"]
        staff_ids = [rid for kind, rid in recipients if kind == "staff"]
        contacts: dict[Key, ContactPoints] = {}
        if person_ids:
            contacts.update({("person", k): v for k, v in (await self.people.contact_points(person_ids)).items()})
        if staff_ids:
            contacts.update({("staff", k): v for k, v in (await self.staff.contact_points(staff_ids)).items()})
        keys = [f"{kind}:{rid}" for kind, rid in recipients]
        prefs = await self.prefs.get_many(keys) if with_prefs else {}
        return {(kind, rid): Reach(kind, rid, contacts.get((kind, rid)), prefs.get(f"{kind}:{rid}", Preferences()))
                for kind, rid in recipients}
