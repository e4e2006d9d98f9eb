"""Messaging part of the WeChat simulator: templates, subscribe grants, followers and the messages people got.

Rules kept (WeChat's): a subscribe message needs a grant for (person, template) — a one-time grant allows one
message, a long-term grant (only for templates whose category allows it) any number until cancelled; a
template message reaches followers of the official account only; a value breaking its field's rule is 47003
and uses up nothing; the same openid + client_msg_id within 10 minutes is sent once.
"""

from __future__ import annotations

import json
import re
import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn

from simulators.wechat_field_rules import field_problem
from simulators.wechat_state import ControlError, SimError
from simulators.wechat_templates import DEFAULT_TEMPLATES, MINIPROGRAM, OFFICIAL_ACCOUNT, SimTemplate

if TYPE_CHECKING:
    from simulators.wechat_state import WeChatSimState

CLIENT_MSG_ID_TTL_S = 600
STATES = ("developer", "trial", "formal")
LANGS = ("zh_CN", "en_US", "zh_HK", "zh_TW")
_PAGE = re.compile(r"[A-Za-z0-9_\-./]+(\?[^\s#]*)?")
_TEMPLATE_ID = re.compile(r"[A-Za-z0-9_\-]{1,64}")


@dataclass
class Grant:
    remaining: int = 0  # one-time grants not used yet
    long_term: bool = False
    refused: bool = False  # the person tapped "reject" (or turned the template off) after their last grant

    def describe(self, template_id: str) -> dict[str, Any]:
        return {"template_id": template_id, "remaining": self.remaining, "long_term": self.long_term,
                "refused": self.refused}


class MessagingState:
    def __init__(self, wechat: WeChatSimState, templates: tuple[SimTemplate, ...] = DEFAULT_TEMPLATES) -> None:
        self.wechat = wechat
        self.default_templates = templates
        wechat.extensions.append(self)
        self.reset()

    def reset(self) -> None:
        self.templates = {t.template_id: t for t in self.default_templates}
        self.grants: dict[tuple[str, str], Grant] = {}  # (mini-program openid, template_id)
        self.followers: set[str] = set()  # official-account openids
        self.inbox: list[dict[str, Any]] = []
        self.client_msg_ids: dict[tuple[str, str], tuple[float, int]] = {}  # (openid, id) -> (time, msgid)
        self.next_msgid = 2_000_000_000 + secrets.randbelow(10**8)
        self.sent: Counter[str] = Counter()
        self.refused: Counter[int] = Counter()

    def stats(self) -> dict[str, Any]:
        return {"messages_sent": dict(self.sent), "message_refusals": {str(k): v for k, v in self.refused.items()}}

    # -- people ---------------------------------------------------------------------------------------------
    def person(self, kind: str, openid: str | None, unionid: str | None) -> tuple[str, str | None]:
        """(openid, unionid) in the mini-program or the official account; known afterwards, like a login."""
        if openid is None and unionid is None:
            raise ControlError("give openid or unionid")
        return self.wechat.resolve_person(self.wechat.app_of(kind).appid, openid, unionid)

    # -- control: templates, grants, followers ----------------------------------------------------------------
    def add_template(self, body: dict[str, Any]) -> SimTemplate:
        app, fields = body.get("app"), body.get("fields")
        if app not in (MINIPROGRAM, OFFICIAL_ACCOUNT):
            raise ControlError(f"app must be {MINIPROGRAM} or {OFFICIAL_ACCOUNT}")
        if not isinstance(fields, dict) or not fields or not all(isinstance(v, str) for v in fields.values()):
            raise ControlError("fields must be an object of key -> label, e.g. {\"thing1\": \"事项名称\"}")
        unknown = [key for key in fields if field_problem(key, "1") == "unknown keyword"]
        if unknown:
            raise ControlError(f"unknown field kinds: {unknown}")
        template_id = str(body.get("template_id") or secrets.token_urlsafe(32))
        if not _TEMPLATE_ID.fullmatch(template_id):
            raise ControlError("template_id: 1-64 characters of A-Z a-z 0-9 _ -")
        template = SimTemplate(app, template_id, str(body.get("title") or "模板消息"), dict(fields),
                               bool(body.get("long_term", False)))
        self.templates[template_id] = template
        return template

    def grant(self, body: dict[str, Any]) -> dict[str, Any]:
        """The person's answer to `wx.requestSubscribeMessage`: accept (count times) or reject, per template."""
        openid, unionid = self.person(MINIPROGRAM, body.get("openid"), body.get("unionid"))
        template_ids = body.get("template_ids") or [body.get("template_id")]
        decision, count = body.get("decision", "accept"), int(body.get("count", 1))
        long_term = bool(body.get("long_term", False))
        if decision not in ("accept", "reject") or count < 1:
            raise ControlError("decision must be accept or reject, count >= 1")
        for template_id in template_ids:
            template = self.templates.get(str(template_id))
            if template is None or template.app != MINIPROGRAM:
                raise ControlError(f"unknown subscribe template: {template_id}")
            if long_term and not template.long_term:
                raise ControlError(f"{template_id}: its category allows one-time subscriptions only")
        for template_id in template_ids:
            grant = self.grants.setdefault((openid, template_id), Grant())
            if decision == "reject":
                grant.remaining, grant.long_term, grant.refused = 0, False, True
            else:
                grant.refused = False
                grant.long_term = grant.long_term or long_term
                grant.remaining += 0 if long_term else count
        return self.grants_of(openid, unionid)

    def revoke(self, openid: str, template_id: str | None) -> dict[str, Any]:
        """The person turns the template (or every template) off in the mini-program's settings."""
        for (who, tid), grant in self.grants.items():
            if who == openid and template_id in (None, tid):
                grant.remaining, grant.long_term, grant.refused = 0, False, True
        return self.grants_of(openid, self.wechat.links.get((self.wechat.app_of(MINIPROGRAM).appid, openid)))

    def grants_of(self, openid: str, unionid: str | None) -> dict[str, Any]:
        grants = [g.describe(tid) for (who, tid), g in sorted(self.grants.items()) if who == openid]
        return {"openid": openid, "unionid": unionid, "grants": grants}

    def follow(self, openid: str, following: bool) -> None:
        (self.followers.add if following else self.followers.discard)(openid)

    def messages(self, openid: str | None, unionid: str | None) -> list[dict[str, Any]]:
        return [m for m in reversed(self.inbox)
                if (openid is None or m["openid"] == openid) and (unionid is None or m["unionid"] == unionid)]

    # -- the two send APIs --------------------------------------------------------------------------------------
    def send_subscribe(self, access_token: str | None, raw: bytes) -> dict[str, Any]:
        appid = self._caller(access_token, MINIPROGRAM)
        body = _json(raw)
        openid, template = self._recipient_and_template(appid, body, MINIPROGRAM)
        page = body.get("page")
        if page is not None and (not isinstance(page, str) or not _PAGE.fullmatch(page) or page.startswith("/")):
            self._refuse(41030, "invalid page")
        state, lang = body.get("miniprogram_state", "formal"), body.get("lang", "zh_CN")
        if state not in STATES or lang not in LANGS:
            self._refuse(47003, "argument invalid! miniprogram_state or lang")
        values = self._values(template, body.get("data"))
        grant = self.grants.get((openid, template.template_id))
        if grant is None or grant.refused or (not grant.long_term and grant.remaining < 1):
            self._refuse(43101, "user refuse to accept the msg")
        if not grant.long_term:
            grant.remaining -= 1
        self._deliver("subscribe", appid, openid, template, values,
                      {"page": page, "miniprogram_state": state, "lang": lang})
        return {"errcode": 0, "errmsg": "ok"}

    def send_template(self, access_token: str | None, raw: bytes) -> dict[str, Any]:
        appid = self._caller(access_token, OFFICIAL_ACCOUNT)
        body = _json(raw)
        openid, template = self._recipient_and_template(appid, body, OFFICIAL_ACCOUNT)
        link = body.get("miniprogram")
        if link is not None:
            mp_appid = self.wechat.app_of(MINIPROGRAM).appid
            if not isinstance(link, dict) or link.get("appid") != mp_appid:
                self._refuse(40013, "invalid appid: the mini-program is not linked to this official account")
        url = body.get("url")
        if url is not None and (not isinstance(url, str) or not url.startswith(("http://", "https://"))):
            self._refuse(47003, "argument invalid! url")
        values = self._values(template, body.get("data"))
        if openid not in self.followers:
            self._refuse(43004, "require subscribe")
        client_msg_id = body.get("client_msg_id")
        now = self.wechat.now()
        if client_msg_id:
            self.client_msg_ids = {k: v for k, v in self.client_msg_ids.items() if now - v[0] < CLIENT_MSG_ID_TTL_S}
            seen = self.client_msg_ids.get((openid, str(client_msg_id)))
            if seen is not None:
                self.sent["template_deduplicated"] += 1
                return {"errcode": 0, "errmsg": "ok", "msgid": seen[1]}
        msgid = self.next_msgid
        self.next_msgid += 1
        if client_msg_id:
            self.client_msg_ids[(openid, str(client_msg_id))] = (now, msgid)
        self._deliver("template", appid, openid, template, values,
                      {"url": url, "miniprogram": link, "msgid": msgid, "client_msg_id": client_msg_id})
        return {"errcode": 0, "errmsg": "ok", "msgid": msgid}

    # -- helpers --------------------------------------------------------------------------------------------
    def _refuse(self, errcode: int, errmsg: str) -> NoReturn:
        self.refused[errcode] += 1
        raise SimError(errcode, errmsg)

    def _caller(self, access_token: str | None, kind: str) -> str:
        appid = self.wechat.check_access_token(access_token).appid
        if self.wechat.apps[appid].kind != kind:
            self._refuse(48001, "api unauthorized")
        return appid

    def _recipient_and_template(self, appid: str, body: dict[str, Any], kind: str) -> tuple[str, SimTemplate]:
        openid = body.get("touser")
        if not isinstance(openid, str) or (appid, openid) not in self.wechat.links:
            self._refuse(40003, "invalid openid")
        template = self.templates.get(str(body.get("template_id") or ""))
        if template is None or template.app != kind:
            self._refuse(40037, "invalid template_id")
        return openid, template

    def _values(self, template: SimTemplate, data: Any) -> dict[str, str]:
        if not isinstance(data, dict):
            self._refuse(47003, "argument invalid! data is empty")
        values: dict[str, str] = {}
        for key in template.fields:
            entry = data.get(key)
            value = entry.get("value") if isinstance(entry, dict) else None
            problem = field_problem(key, value)
            if problem is not None:
                self._refuse(47003, f"argument invalid! data.{key}.value {problem}")
            values[key] = str(value)
        return values

    def _deliver(self, kind: str, appid: str, openid: str, template: SimTemplate, values: dict[str, str],
                 extra: dict[str, Any]) -> None:
        lines = [template.title] + [f"{template.fields[key]}：{value}" for key, value in values.items()]
        self.inbox.append({
            "kind": kind, "appid": appid, "openid": openid, "unionid": self.wechat.links.get((appid, openid)),
            "template_id": template.template_id, "title": template.title, "data": values, "text": "\n".join(lines),
            **extra, "sent_at": datetime.fromtimestamp(self.wechat.now(), UTC).isoformat(),
        })
        self.sent[kind] += 1


def _json(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise SimError(47001, "data format error") from None
    if not isinstance(body, dict):
        raise SimError(47001, "data format error")
    return body
