"""Turns pydantic validation errors into our field errors, every bad field at once, in Chinese wording."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from core.errors import VALIDATION_FAILED, AppError, FieldError

M = TypeVar("M", bound=BaseModel)

_MESSAGES: dict[str, str] = {
    "missing": "此项为必填项",
    "extra_forbidden": "不支持的字段",
    "string_type": "须为文本",
    "int_type": "须为整数",
    "int_parsing": "须为整数",
    "bool_type": "须为是/否",
    "float_type": "须为数字",
    "dict_type": "须为对象",
    "list_type": "须为列表",
    "model_type": "须为对象",
    "string_too_short": "长度不能少于 {min_length} 个字符",
    "string_too_long": "长度不能超过 {max_length} 个字符",
    "too_short": "至少需要 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "greater_than": "须大于 {gt}",
    "greater_than_equal": "须不小于 {ge}",
    "less_than": "须小于 {lt}",
    "less_than_equal": "须不大于 {le}",
    "string_pattern_mismatch": "格式不正确",
    "literal_error": "须为以下之一：{expected}",
    "enum": "须为以下之一：{expected}",
    "datetime_parsing": "须为 ISO 8601 时间",
    "datetime_from_date_parsing": "须为 ISO 8601 时间",
    "date_parsing": "须为 YYYY-MM-DD 日期",
    "url_parsing": "须为有效的网址",
}


def field_errors(exc: ValidationError) -> list[FieldError]:
    errors = []
    for item in exc.errors(include_url=False):
        loc = ".".join(str(part) for part in item["loc"]) or "body"
        template = _MESSAGES.get(item["type"])
        ctx: dict[str, Any] = item.get("ctx") or {}
        if template:
            try:
                message = template.format(**ctx)
            except (KeyError, IndexError):
                message = template
        elif item["type"] == "value_error" and "error" in ctx:
            message = str(ctx["error"])  # our own validators raise ValueError with Chinese text
        else:
            message = item["msg"]
        errors.append(FieldError(field=loc, errcode=item["type"].upper(), errmsg=message))
    return errors


def validate(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise AppError(VALIDATION_FAILED, errors=field_errors(exc)) from None


class RuleViolation(ValueError):
    """A value broke one named rule of its kind (e.g. an ID number's check digit): the rule for programs, a
    Chinese sentence for people. A ValueError, so a pydantic validator may let it propagate and
    `field_errors` shows the sentence for that field.

    Subclasses set the errcode prefix of their field errors, the field they usually describe, and the HTTP
    error raised when the value stands alone in a request.
    """

    prefix: str = "VALUE"
    default_field: str = "value"
    error = VALIDATION_FAILED

    def __init__(self, rule: str, message_zh: str) -> None:
        super().__init__(message_zh)
        self.rule = rule
        self.message_zh = message_zh

    def field_error(self, field: str | None = None) -> FieldError:
        return FieldError(field or self.default_field, f"{self.prefix}_{self.rule}", self.message_zh)

    def app_error(self, field: str | None = None) -> AppError:
        """The errcode of the kind (e.g. `CITIZEN_ID_INVALID`, 422), errmsg the specific sentence, and one
        field error `<PREFIX>_<RULE>`. A form with several bad fields should instead collect `field_error()`s
        with the others into one VALIDATION_FAILED, so every bad field is listed at once."""
        return AppError(self.error, errmsg=self.message_zh, errors=[self.field_error(field)])
