"""Filling a template's placeholders from an event's data: `{name}` and `{name|filter}`, nothing else.

A small grammar of our own rather than `str.format`, which would let a template reach attributes and indexes of
the values (`{x.__class__}`) and fails with KeyError on the first gap instead of naming every missing value.
A missing or unusable value raises TemplateDataError naming each one: the pipeline records the message as a
permanent failure with that reason instead of retrying something that can never render.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from notifications.quiet_hours import SHANGHAI
from notifications.states import Reason
from wechat.subscribe_fields import FieldValueError, amount_from_fen

PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)(?:\|([a-z]+))?\}")


class TemplateDataError(ValueError):
    """The data cannot fill the template: `reason` for the message record, `detail` names the values."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


def _fen(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("须为非负整数（分）")
    return value


def _moment(value: Any) -> datetime | date:
    if isinstance(value, datetime | date):
        return value
    if isinstance(value, str):
        text = value.strip()
        return datetime.fromisoformat(text) if "T" in text or " " in text else date.fromisoformat(text)
    raise ValueError("须为 ISO 8601 日期或时间")


def _as_date(value: Any) -> str:
    moment = _moment(value)
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            raise ValueError("时间须带时区")
        moment = moment.astimezone(SHANGHAI)
    return f"{moment.year}年{moment.month}月{moment.day}日"


def _as_datetime(value: Any) -> str:
    moment = _moment(value)
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise ValueError("须为带时区的 ISO 8601 时间")
    local = moment.astimezone(SHANGHAI)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def _as_deadline(value: Any) -> str:
    """A time limit stored as the instant it runs out (24:00 of the last day = 00:00 of the next, Shanghai) → that
    last day; a plain date is that date."""
    moment = _moment(value)
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            raise ValueError("时间须带时区")
        local = moment.astimezone(SHANGHAI)
        moment = (local - timedelta(microseconds=1)).date() if local.time() == time(0) else local.date()
    return f"{moment.year}年{moment.month}月{moment.day}日"


def _as_yuan(value: Any) -> str:
    fen = _fen(value)
    return f"{fen // 100}.{fen % 100:02d}元"


def _as_amount(value: Any) -> str:
    try:
        return amount_from_fen(_fen(value))
    except FieldValueError as exc:  # pragma: no cover - _fen already refuses negatives
        raise ValueError(str(exc)) from None


def _plain(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("须为文本或整数")
    return str(value)


FILTERS: dict[str | None, Callable[[Any], str]] = {
    None: _plain, "yuan": _as_yuan, "amount": _as_amount, "date": _as_date, "datetime": _as_datetime,
    "deadline": _as_deadline,
}


def placeholders(pattern: str) -> list[tuple[str, str | None]]:
    """Every `(name, filter)` in the pattern, in order."""
    return [(m[1], m[2]) for m in PLACEHOLDER.finditer(pattern)]


def unknown_filters(pattern: str) -> list[str]:
    return [f for _, f in placeholders(pattern) if f not in FILTERS]


def fill(pattern: str, data: Mapping[str, Any]) -> str:
    """The pattern with every placeholder replaced; TemplateDataError naming every missing or bad value."""
    missing: list[str] = []
    bad: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name, flt = match[1], match[2]
        if name not in data or data[name] is None or data[name] == "":
            missing.append(name)
            return ""
        try:
            return FILTERS[flt](data[name])
        except (ValueError, TypeError, KeyError) as exc:
            bad.append(f"{name}（{exc}）")
            return ""

    text = PLACEHOLDER.sub(replace, pattern)
    if missing or bad:
        parts = []
        if missing:
            parts.append("缺少 " + "、".join(dict.fromkeys(missing)))
        if bad:
            parts.append("取值无效 " + "、".join(dict.fromkeys(bad)))
        raise TemplateDataError(Reason.MISSING_PLACEHOLDER, "；".join(parts))
    return text


def fill_all(patterns: Mapping[str, str], data: Mapping[str, Any]) -> dict[str, str]:
    """Each pattern of a mapping filled; one TemplateDataError listing the problems of all of them."""
    filled: dict[str, str] = {}
    problems: list[str] = []
    for key, pattern in patterns.items():
        try:
            filled[key] = fill(pattern, data)
        except TemplateDataError as exc:
            problems.append(f"{key}: {exc.detail}")
    if problems:
        raise TemplateDataError(Reason.MISSING_PLACEHOLDER, "；".join(problems))
    return filled
