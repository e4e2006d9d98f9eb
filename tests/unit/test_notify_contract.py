"""The producer/template contract (core/outbox_topics.py) holds on both sides: every topic a producer records is
declared and has a template (or is declared silent with a reason), and every placeholder of every template version
is a value that topic's producer guarantees. What the producers really send is checked over the whole test
session's outbox by tests/e2e/test_zz_notify_contract.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from accounts.events import AccountEventRepository
from core.outbox_topics import ALWAYS, TOPICS, missing_keys
from notifications.rendering import placeholders
from notifications.templates import ChannelProblem, Template, TemplateBook, default_book, render
from simulators.wechat_templates import DEFAULT_TEMPLATES, MINIPROGRAM, OFFICIAL_ACCOUNT

ROOT = Path(__file__).resolve().parents[2]
PRODUCER_PACKAGES = ("affairs", "payments", "accounts")
# How producers name a topic: OutboxEvent(topic=…), a case step's notify=(topic, …), FeeItems._event(topic, …).
_TOPIC_SITES = re.compile(r'(?:\btopic=|\bnotify=\(|\b_event\()(f?)"([^"]+)"')
# Topics built at run time, and every value they can take.
DYNAMIC = {
    "task.{level}": {"task.warning", "task.overdue"},  # affairs/supervision.py Supervision.sweep
    "account.{type_}": {f"account.{t}" for t in AccountEventRepository.NOTIFY},
}


def recorded_topics() -> set[str]:
    """Every topic the producer packages record, read from their source."""
    found: set[str] = set()
    for package in PRODUCER_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for is_f, name in _TOPIC_SITES.findall(path.read_text(encoding="utf-8")):
                if is_f:
                    assert name in DYNAMIC, f"{path.relative_to(ROOT)}: topic {name!r} is built at run time; " \
                                            "list its values in DYNAMIC and declare them in core/outbox_topics.py"
                    found |= DYNAMIC[name]
                else:
                    found.add(name)
    return found


def template_names(template: Template) -> set[str]:
    return set(template.needs())


def test_the_source_scan_finds_the_producers() -> None:
    topics = recorded_topics()
    assert {"case.accepted", "task.created", "task.overdue", "bill.published", "bill.paid", "refund.settled",
            "fee_item.submitted", "account.phone_bind_attempt_by_other"} <= topics


def test_every_topic_a_producer_records_is_declared() -> None:
    undeclared = sorted(recorded_topics() - set(TOPICS))
    assert undeclared == [], f"declare these topics in core/outbox_topics.py: {undeclared}"


def test_silent_and_pending_topics_are_recorded_by_no_producer() -> None:
    recorded = recorded_topics()
    for topic in TOPICS.values():
        if topic.silent is not None or topic.pending is not None:
            assert topic.name not in recorded, f"{topic.name} is declared {'silent' if topic.silent else 'pending'}"
        else:
            assert topic.name in recorded, f"{topic.name}: no producer records it; declare it pending (why)"
            assert topic.producer, topic.name


def test_every_told_topic_has_a_template_and_every_template_a_declared_topic() -> None:
    book = default_book()
    no_template = sorted(t.name for t in TOPICS.values() if t.messaged and book.latest(t.name) is None)
    assert no_template == [], f"topics with no template (add one, or declare the topic silent): {no_template}"
    stray = sorted(set(book.topics()) - {t.name for t in TOPICS.values() if t.messaged})
    assert stray == [], f"templates of topics nobody declared (or declared silent): {stray}"


def test_silent_and_pending_topics_say_why() -> None:
    for topic in TOPICS.values():
        assert not (topic.silent and topic.pending), topic.name
        for reason in (topic.silent, topic.pending):
            assert reason is None or len(reason) >= 10, topic.name
        if topic.silent is None:
            assert topic.keys, f"{topic.name}: declare the keys its producer guarantees"
        assert not topic.keys & topic.optional, topic.name


@pytest.mark.parametrize("topic", sorted(default_book().topics()))
def test_every_placeholder_of_every_version_is_a_guaranteed_value(topic: str) -> None:
    book, declared = default_book(), TOPICS[topic]
    for version in book.versions(topic):
        template = book.get(topic, version)
        assert template is not None
        unknown = sorted(template_names(template) - declared.keys - ALWAYS)
        if template.retired is None:
            assert unknown == [], (f"{template.ref} uses values its producer does not guarantee: {unknown} "
                                   f"(guaranteed: {sorted(declared.keys)}, optional: {sorted(declared.optional)})")
        else:
            assert unknown, f"{template.ref} fits the contract again: drop its `retired`"


@pytest.mark.parametrize("topic", sorted(default_book().topics()))
def test_the_latest_version_renders_on_every_channel_from_the_guaranteed_values_alone(topic: str) -> None:
    template, declared = default_book().latest(topic), TOPICS[topic]
    assert template is not None
    data = {k: v for k, v in template.sample.items() if k in declared.keys | ALWAYS}
    assert missing_keys(topic, data) == [] or set(missing_keys(topic, data)).isdisjoint(template_names(template))
    rendered = render(template, data)
    problems = {name: part for name, part in rendered.parts.items() if isinstance(part, ChannelProblem)}
    assert problems == {}
    assert all(name in data for name, _ in placeholders(rendered.link or ""))


def test_an_sms_code_is_one_approved_wording() -> None:
    book = default_book()
    for provider in ("aliyun", "tencent"):
        wording: dict[str, set[str]] = {}
        for topic in book.topics():
            for version in book.versions(topic):
                template = book.get(topic, version)
                if template is not None and template.sms is not None:
                    code = getattr(template.sms, provider)
                    wording.setdefault(code, set()).add(template.sms.text)
        assert {code: texts for code, texts in wording.items() if len(texts) > 1} == {}


def test_wechat_parts_fill_exactly_the_fields_of_their_wechat_template() -> None:
    library = {t.template_id: t for t in DEFAULT_TEMPLATES}
    for template in default_book().all_latest():
        for part, app in ((template.subscribe, MINIPROGRAM), (template.official_account, OFFICIAL_ACCOUNT)):
            if part is None:
                continue
            known = library.get(part.template_id)
            assert known is not None and known.app == app, f"{template.ref}: {part.template_id} is not a {app} template"
            assert set(part.fields) == set(known.fields), f"{template.ref}: {part.template_id} fields"
            assert part.long_term == known.long_term, f"{template.ref}: {part.template_id} long_term"


def test_a_latest_version_cannot_be_retired() -> None:
    base = {"topic": "a.b", "audience": "person", "title": "t", "body": "b"}
    with pytest.raises(ValueError, match="cannot be retired"):
        TemplateBook([Template.model_validate({**base, "version": 1}),
                      Template.model_validate({**base, "version": 2, "retired": "no"})])
