"""Notification templates kept as data (templates.toml), versioned per topic, and their rendering per channel.

Wording lives in a data file rather than in code so that it is reviewed like text, versioned without a code
change, and the same file tells the SMS simulator which templates the providers approved. The file is checked
when loaded (structure, placeholders, filters, WeChat field kinds, SMS variables), so a broken edit stops the
start-up instead of failing messages one by one. Rendering never raises for one channel's trouble: a field
that cannot be fitted makes that channel a `ChannelProblem` (the pipeline falls back to the next channel);
only the in-app title/body failing makes the whole recipient fail.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from notifications.rendering import TemplateDataError, fill, fill_all, placeholders, unknown_filters
from notifications.states import Reason
from wechat.subscribe_fields import FieldValueError, fit_data, kind_of

DATA_FILE = Path(__file__).with_name("templates.toml")
_SMS_VARIABLE = re.compile(r"\$\{(\w+)\}")
TOPIC_PATTERN = r"^[a-z][a-z_]*(\.[a-z_]+)+$"  # e.g. case.accepted, fee_item.submitted


def _check_patterns(*patterns: str) -> None:
    for pattern in patterns:
        bad = unknown_filters(pattern)
        if bad:
            raise ValueError(f"unknown filter(s) {bad} in {pattern!r}")


class WeChatPart(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    template_id: str = Field(min_length=1, max_length=64)
    long_term: bool = False  # a category (government affairs) whose grant is not used up by a message
    page: str | None = None
    fields: dict[str, str] = Field(min_length=1)

    @field_validator("fields")
    @classmethod
    def _kinds(cls, fields: dict[str, str]) -> dict[str, str]:
        for key in fields:
            kind_of(key)  # FieldValueError (a ValueError) for a key that names no kind
        _check_patterns(*fields.values())
        return fields


class SmsPart(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    text: str = Field(min_length=1, max_length=300)  # the approved wording, Aliyun `${var}` variables
    params: dict[str, str] = Field(default_factory=dict)  # variable → pattern; order = Tencent's {1}, {2}…
    aliyun: str = Field(pattern=r"^SMS_\d+$")
    tencent: str = Field(pattern=r"^\d+$")

    @model_validator(mode="after")
    def _variables(self) -> SmsPart:
        used = set(_SMS_VARIABLE.findall(self.text))
        if used != set(self.params):
            raise ValueError(f"sms.text uses {sorted(used)} but params are {sorted(self.params)}")
        _check_patterns(*self.params.values())
        return self

    def tencent_text(self) -> str:
        """The same wording with Tencent's positional variables, numbered in the order of `params`."""
        position = {name: str(i) for i, name in enumerate(self.params, start=1)}
        return _SMS_VARIABLE.sub(lambda m: "{" + position[m[1]] + "}", self.text)


class Template(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    topic: str = Field(pattern=TOPIC_PATTERN)
    version: int = Field(ge=1)
    audience: Literal["person", "staff"]
    urgent: bool = False
    title: str = Field(min_length=1, max_length=40)
    body: str = Field(min_length=1, max_length=500)
    link: str | None = None
    sample: dict[str, str | int] = Field(default_factory=dict)
    subscribe: WeChatPart | None = None
    official_account: WeChatPart | None = None
    sms: SmsPart | None = None
    # Why an older version may not be rendered from today's events (it names values no producer sends); kept
    # for the record of `topic@version`. The latest version of a topic is never retired (core/outbox_topics.py).
    retired: str | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _patterns(self) -> Template:
        _check_patterns(self.title, self.body, self.link or "")
        return self

    @property
    def ref(self) -> str:
        return f"{self.topic}@{self.version}"

    def needs(self) -> list[str]:
        """Every data key any part of the template uses, in first-use order (the preview shows it)."""
        patterns = [self.title, self.body, self.link or ""]
        for part in (self.subscribe, self.official_account):
            if part is not None:
                patterns += [part.page or "", *part.fields.values()]
        if self.sms is not None:
            patterns += list(self.sms.params.values())
        return list(dict.fromkeys(name for p in patterns for name, _ in placeholders(p)))


@dataclass(frozen=True, slots=True)
class ChannelProblem:
    reason: Reason
    detail: str


@dataclass(frozen=True, slots=True)
class WeChatPayload:
    template_id: str
    page: str | None
    data: dict[str, str]


@dataclass(frozen=True, slots=True)
class SmsPayload:
    template: str  # the logical SMS template name (= topic) each provider adapter maps to its own code
    params: dict[str, str]
    text: str  # what the phone shows (without the sign), for the record and the preview


@dataclass(frozen=True)
class Rendered:
    ref: str
    title: str
    body: str
    link: str | None
    parts: dict[str, WeChatPayload | SmsPayload | ChannelProblem | None] = field(default_factory=dict)


def _render_wechat(part: WeChatPart | None, data: Mapping[str, Any]) -> WeChatPayload | ChannelProblem | None:
    if part is None:
        return None
    try:
        values = fill_all(part.fields, data)
        page = fill(part.page, data) if part.page else None
        return WeChatPayload(part.template_id, page, fit_data(values))
    except TemplateDataError as exc:
        return ChannelProblem(exc.reason, exc.detail)
    except FieldValueError as exc:
        return ChannelProblem(Reason.FIELD_INVALID, str(exc))


def _render_sms(topic: str, part: SmsPart | None, data: Mapping[str, Any]) -> SmsPayload | ChannelProblem | None:
    if part is None:
        return None
    try:
        params = fill_all(part.params, data)
    except TemplateDataError as exc:
        return ChannelProblem(exc.reason, exc.detail)
    return SmsPayload(topic, params, _SMS_VARIABLE.sub(lambda m: params[m[1]], part.text))


def render(template: Template, data: Mapping[str, Any]) -> Rendered:
    """Every part of the template filled from `data`. TemplateDataError when the in-app text cannot render."""
    title, body = fill(template.title, data), fill(template.body, data)
    link = fill(template.link, data) if template.link else None
    return Rendered(template.ref, title, body, link, {
        "wechat_subscribe": _render_wechat(template.subscribe, data),
        "wechat_template": _render_wechat(template.official_account, data),
        "sms": _render_sms(template.topic, template.sms, data),
    })


class TemplateBook:
    """Every version of every template; `latest(topic)` is what new messages use."""

    def __init__(self, templates: list[Template]) -> None:
        self._by_ref: dict[tuple[str, int], Template] = {}
        for template in templates:
            key = (template.topic, template.version)
            if key in self._by_ref:
                raise ValueError(f"template {template.ref} is defined twice")
            self._by_ref[key] = template
        long_term: dict[str, bool] = {}
        for template in templates:
            part = template.subscribe
            if part is not None and long_term.setdefault(part.template_id, part.long_term) != part.long_term:
                raise ValueError(f"subscribe template {part.template_id} is long_term in one entry but not another")
        self._latest: dict[str, Template] = {}
        for template in sorted(templates, key=lambda t: t.version):
            self._latest[template.topic] = template
        for template in self._latest.values():
            if template.retired is not None:
                raise ValueError(f"template {template.ref} is the latest of its topic and cannot be retired")

    @classmethod
    def load(cls, path: Path = DATA_FILE) -> TemplateBook:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        return cls([Template.model_validate(entry) for entry in raw.get("templates", [])])

    def latest(self, topic: str) -> Template | None:
        return self._latest.get(topic)

    def get(self, topic: str, version: int) -> Template | None:
        return self._by_ref.get((topic, version))

    def all_latest(self) -> list[Template]:
        return [self._latest[topic] for topic in sorted(self._latest)]

    def topics(self) -> list[str]:
        return sorted(self._latest)

    def versions(self, topic: str) -> list[int]:
        return sorted(v for t, v in self._by_ref if t == topic)

    def sms_codes(self, provider: Literal["aliyun", "tencent"]) -> dict[str, str]:
        """Logical template name (topic) → the provider's approved template code, for the SMS adapters."""
        return {t.topic: getattr(t.sms, provider) for t in self._latest.values() if t.sms is not None}

    def sms_texts(self, provider: Literal["aliyun", "tencent"]) -> dict[str, str]:
        """Approved code → approved wording, as the provider's console holds them (the simulators load this)."""
        return {
            getattr(t.sms, provider): (t.sms.text if provider == "aliyun" else t.sms.tencent_text())
            for t in self._by_ref.values() if t.sms is not None
        }


@lru_cache(maxsize=1)
def default_book() -> TemplateBook:
    return TemplateBook.load()
