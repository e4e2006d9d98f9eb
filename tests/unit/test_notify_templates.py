"""Templates as data: the shipped file loads, every template renders its sample on every channel within
WeChat's field rules, and bad data or bad templates are refused with reasons that name the problem."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from notifications.rendering import TemplateDataError, fill
from notifications.states import Reason
from notifications.templates import (
    ChannelProblem,
    SmsPayload,
    Template,
    TemplateBook,
    WeChatPayload,
    default_book,
    render,
)
from wechat.subscribe_fields import violation

TOPICS = {
    "case.accepted", "case.supplement_requested", "case.approved", "case.denied", "case.completed",
    "case.not_accepted", "task.created", "task.warning", "task.overdue", "bill.published", "bill.paid",
    "bill.cancelled", "refund.settled", "payment.returned", "fee_item.submitted", "fee_item.approved", "fee_item.rejected",
    "case.rating_requested", "account.citizen_id_bind_attempt_by_other",
    "account.refresh_token_reused", "account.phone_bind_attempt_by_other",
}


def test_every_topic_of_the_pipeline_has_a_template() -> None:
    assert set(default_book().topics()) == TOPICS


@pytest.mark.parametrize("topic", sorted(TOPICS))
def test_each_template_renders_its_sample_on_every_channel_within_the_field_rules(topic: str) -> None:
    template = default_book().latest(topic)
    assert template is not None
    rendered = render(template, template.sample)
    assert rendered.title and rendered.body and "{" not in rendered.body
    assert isinstance(rendered.parts["sms"], SmsPayload)
    for name in ("wechat_subscribe", "wechat_template"):
        part = rendered.parts[name]
        assert not isinstance(part, ChannelProblem), part
        if isinstance(part, WeChatPayload):
            assert {key: violation(key, value) for key, value in part.data.items()} == dict.fromkeys(part.data)


def test_a_long_value_is_cut_honestly_for_wechat_and_kept_whole_in_app_and_sms() -> None:
    template = default_book().latest("case.accepted")
    assert template is not None
    long_name = "城乡居民基本养老保险参保登记及个人缴费档次变更申请"  # 25 characters: thing allows 20
    rendered = render(template, {**template.sample, "matter_name": long_name})
    subscribe = rendered.parts["wechat_subscribe"]
    assert isinstance(subscribe, WeChatPayload)
    assert subscribe.data["thing1"] == long_name[:19] + "…" and len(subscribe.data["thing1"]) == 20
    assert long_name in rendered.body
    sms = rendered.parts["sms"]
    assert isinstance(sms, SmsPayload) and sms.params["matter"] == long_name


def test_a_value_no_cut_can_fit_fails_that_channel_only() -> None:
    template = default_book().latest("task.created")
    assert template is not None
    rendered = render(template, {**template.sample, "applicant": "Zhang San 123 Long Latin Name"})
    subscribe = rendered.parts["wechat_subscribe"]
    assert isinstance(subscribe, ChannelProblem) and subscribe.reason is Reason.FIELD_INVALID
    assert "name3" in subscribe.detail
    assert isinstance(rendered.parts["sms"], SmsPayload)  # the next channel still works


def test_missing_and_bad_values_are_all_named_at_once() -> None:
    template = default_book().latest("bill.published")
    assert template is not None
    with pytest.raises(TemplateDataError) as caught:
        render(template, {"fee_item_name": "学费", "amount_fen": "180000"})
    assert caught.value.reason is Reason.MISSING_PLACEHOLDER
    for name in ("student_name", "school_name", "amount_fen"):
        assert name in caught.value.detail


def test_a_time_limit_reads_as_its_last_day() -> None:
    # the limit runs out at 24:00 on Oct 14 (Shanghai), stored as 00:00 on the 15th (16:00 UTC on the 14th)
    assert fill("{t|deadline}", {"t": "2025-10-14T16:00:00+00:00"}) == "2025年10月14日"
    assert fill("{t|deadline}", {"t": "2025-10-14T09:30:00+08:00"}) == "2025年10月14日"
    assert fill("{t|deadline}", {"t": "2025-10-14"}) == "2025年10月14日"


def test_filters_write_money_and_shanghai_time() -> None:
    data = {"fen": 123456, "day": "2026-12-10", "at": "2026-11-25T01:30:00+00:00"}
    assert fill("{fen|yuan} {fen|amount}", data) == "1234.56元 ¥1234.56"
    assert fill("{day|date} {at|datetime} {at|date}", data) == "2026年12月10日 2026年11月25日 09:30 2026年11月25日"
    with pytest.raises(TemplateDataError):
        fill("{at|datetime}", {"at": "2026-11-25T01:30:00"})  # a time without a zone is ambiguous


def test_sms_texts_for_the_providers_consoles() -> None:
    book = default_book()
    aliyun, tencent = book.sms_texts("aliyun"), book.sms_texts("tencent")
    assert aliyun["SMS_460301"] == "${student}的${bill}已发布，应缴${amount}，请于${due}前在掌上办缴纳。"
    assert tencent["2460301"] == "{1}的{2}已发布，应缴{3}，请于{4}前在掌上办缴纳。"
    assert book.sms_codes("aliyun")["case.accepted"] == "SMS_460101"


BASE = {"topic": "case.accepted", "version": 1, "audience": "person", "title": "t", "body": "b {x}"}


def test_versions_latest_wins_and_old_ones_stay_for_the_record() -> None:
    book = TemplateBook([Template.model_validate(BASE), Template.model_validate({**BASE, "version": 2,
                                                                                "body": "new {x}"})])
    assert book.latest("case.accepted").version == 2  # type: ignore[union-attr]
    assert book.get("case.accepted", 1).body == "b {x}"  # type: ignore[union-attr]
    assert book.versions("case.accepted") == [1, 2]
    with pytest.raises(ValueError, match="defined twice"):
        TemplateBook([Template.model_validate(BASE), Template.model_validate(BASE)])


@pytest.mark.parametrize("broken", [
    {"body": "{x|shout}"},  # unknown filter
    {"topic": "Case Accepted"},
    {"sms": {"text": "${a}", "params": {"b": "{x}"}, "aliyun": "SMS_1", "tencent": "1"}},  # variable mismatch
    {"subscribe": {"template_id": "t", "fields": {"colour1": "{x}"}}},  # not a WeChat field kind
])
def test_a_broken_template_is_refused_when_loaded(broken: dict[str, object]) -> None:
    with pytest.raises((ValidationError, ValueError)):
        Template.model_validate({**BASE, **broken})


def test_the_loader_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text('[[templates]]\ntopic = "a.b"\nversion = 3\naudience = "staff"\ntitle = "标题"\n'
                    'body = "正文 {n}"\n', encoding="utf-8")
    book = TemplateBook.load(path)
    assert book.topics() == ["a.b"] and render(book.latest("a.b"), {"n": 1}).body == "正文 1"  # type: ignore[arg-type]
