"""After everything else has run: every outbox event the session's producers recorded renders on every channel.

Marked `runs_last` (see conftest.py), so it sees what every test of the session made the real producers record
(cases, tasks, supervision, bills, payments, refunds, fee items, account events). Each event is checked against
its topic's declaration (core/outbox_topics.py) and rendered with the pipeline's own code — the template the
fan-out would pick, the data it would use (`template_data`), every channel part — so a producer and a template that
drift apart fail here with a list of (topic, problem), instead of as permanent failures in production.

The one exception is an event a test records *on purpose* to exercise failure handling (an unknown topic, values
missing): it carries `subject.unusable` with its reason (tests/support/notify.py `record_event(unusable=…)`). Such
events are skipped only when they are test events and really are unusable.
"""

from __future__ import annotations

import warnings
from collections import Counter
from typing import Any

import pytest

from config.wiring import Dependencies
from core.outbox_topics import TOPICS, missing_keys
from notifications.fanout import template_data
from notifications.rendering import TemplateDataError
from notifications.templates import ChannelProblem, TemplateBook, default_book, render


def problems_of(book: TemplateBook, event: dict[str, Any]) -> list[str]:
    """What is wrong with one recorded event (empty when it renders for every channel its template has).

    An event of a real producer must also carry every key its topic declares; a test's own event (subject kind
    `test`, usually a template's sample) only has to render."""
    topic, data = event["topic"], dict(event.get("data") or {})
    declared = TOPICS.get(topic)
    found: list[str] = []
    if declared is None:
        found.append("topic not declared in core/outbox_topics.py")
    elif not declared.messaged:
        found.append("declared silent, yet recorded")
    elif (event.get("subject") or {}).get("kind") != "test":
        found += [f"declared key {key} missing or empty" for key in missing_keys(topic, data)]
    template = book.latest(topic)
    if template is None:
        return [*found, "UNKNOWN_TEMPLATE"]
    try:
        rendered = render(template, template_data(event))
    except TemplateDataError as exc:
        return [*found, f"{template.ref} in-app {exc.reason}: {exc.detail}"]
    for channel, part in rendered.parts.items():
        if isinstance(part, ChannelProblem):
            found.append(f"{template.ref} {channel} {part.reason}: {part.detail}")
    return found


@pytest.mark.runs_last
async def test_every_event_of_the_session_renders_on_every_channel(deps: Dependencies) -> None:
    book = default_book()
    problems: Counter[tuple[str, str]] = Counter()
    checked: Counter[str] = Counter()
    on_purpose: Counter[str] = Counter()
    async for event in deps.db["outbox"].find({}):
        subject = event.get("subject") or {}
        found = problems_of(book, event)
        if subject.get("unusable"):
            if subject.get("kind") != "test":
                problems[(event["topic"], f"only test events may be marked unusable (subject {subject['kind']})")] += 1
            elif not found:
                problems[(event["topic"], f"marked unusable ({subject['unusable']}) but renders: drop the marker")] += 1
            on_purpose[event["topic"]] += 1
            continue
        checked[event["topic"]] += 1
        for problem in found:
            problems[(event["topic"], problem)] += 1

    assert checked, "no outbox event was recorded in this session"
    report = "\n".join(f"  {topic}: {problem} (×{n})" for (topic, problem), n in sorted(problems.items()))
    assert not problems, f"outbox events that cannot be told as recorded:\n{report}\n(checked {dict(checked)})"
    unexercised = sorted(t.name for t in TOPICS.values() if t.messaged and not t.pending and t.name not in checked)
    if unexercised:
        warnings.warn(f"no test of this session recorded: {unexercised}", stacklevel=1)
