"""The application form of a case: validation against the matter's JSON Schema, pre-filling, sealing of numbers.

- Validation lists every failing field at once (422), in Chinese, named by the field's path and title.
- 免填写: the applicant's own name, ID number and phone (`applicant_*` fields) come from the verified profile and
  are never typed; other fields are pre-filled from the applicant's earlier answers to the same field.
- Sealing: any field holding an ID or mobile number (by pattern or by name) is stored encrypted (`sealed`) and
  shown masked (`form`), so no full number rests in the `cases` collection or leaves in a response.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaViolation

from core.errors import VALIDATION_FAILED, AppError, FieldError
from core.masking import mask_id_number, mask_phone

IDENTITY_FIELDS = ("applicant_name", "applicant_id_number", "applicant_phone")
MAX_FORM_BYTES = 64 * 1024

_VALIDATOR_MESSAGES: dict[str, str] = {
    "required": "此项为必填项", "type": "类型不正确", "minLength": "不能为空或过短", "maxLength": "内容过长",
    "pattern": "格式不正确", "enum": "须为给定选项之一", "minimum": "数值过小", "maximum": "数值过大",
    "format": "格式不正确", "additionalProperties": "表单中没有此项", "const": "取值不正确",
}


def is_sensitive(name: str, field: dict[str, Any]) -> str | None:
    """'id' or 'phone' when the field holds such a number, else None."""
    pattern = str(field.get("pattern", ""))
    if name.endswith("id_number") or "{17}" in pattern:
        return "id"
    if name.endswith("phone") or pattern.startswith("^1[3-9]"):
        return "phone"
    return None


def _title(schema: dict[str, Any], name: str) -> str:
    field = schema.get("properties", {}).get(name) or {}
    return str(field.get("title") or name)


def validate_form(schema: dict[str, Any], data: Any) -> None:
    """Raise 422 listing every problem of `data` against the schema (all at once, not the first)."""
    if not isinstance(data, dict):
        raise AppError(VALIDATION_FAILED, errors=[FieldError("form", "TYPE", "表单内容须为对象")])
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors: list[FieldError] = []
    for problem in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        errors.append(_field_error(schema, problem))
    if errors:
        raise AppError(VALIDATION_FAILED, errors=errors)


def _field_error(schema: dict[str, Any], problem: SchemaViolation) -> FieldError:
    path = [str(part) for part in problem.absolute_path]
    validator = str(problem.validator)
    if validator == "required" and isinstance(problem.validator_value, list):
        missing = problem.message.split("'")[1] if "'" in problem.message else ""
        path = [*path, missing] if missing else path
    if validator == "additionalProperties":
        extra = problem.message.split("'")[1] if "'" in problem.message else ""
        path = [*path, extra] if extra else path
    name = path[0] if path else ""
    message = _VALIDATOR_MESSAGES.get(validator, "填写有误")
    label = _title(schema, name) if name else "表单"
    return FieldError(field="form." + ".".join(path) if path else "form", errcode=validator.upper(),
                      errmsg=f"{label}：{message}")


def with_identity(schema: dict[str, Any], data: dict[str, Any], identity: dict[str, str]) -> dict[str, Any]:
    """The form with the applicant's own fields taken from the verified profile (what they typed is ignored)."""
    properties = schema.get("properties", {})
    return {**data, **{name: identity[name] for name in IDENTITY_FIELDS if name in properties and name in identity}}


def _sensitive_paths(schema: dict[str, Any], data: Any, path: tuple[str, ...] = ()
                     ) -> list[tuple[tuple[str, ...], str, str]]:
    """(path, kind, value) of every ID or mobile number in the form, nested objects and arrays included."""
    found: list[tuple[tuple[str, ...], str, str]] = []
    if isinstance(data, dict):
        for name, field in (schema.get("properties") or {}).items():
            if name not in data or not isinstance(field, dict):
                continue
            value = data[name]
            kind = is_sensitive(name, field)
            if kind and isinstance(value, str) and value:
                found.append(((*path, name), kind, value))
            else:
                found += _sensitive_paths(field, value, (*path, name))
    elif isinstance(data, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(data):
            found += _sensitive_paths(schema["items"], item, (*path, str(index)))
    return found


def _put(data: Any, path: tuple[str, ...], value: Any) -> None:
    *parents, last = path
    for part in parents:
        data = data[int(part)] if isinstance(data, list) else data[part]
    if isinstance(data, list):
        data[int(last)] = value
    else:
        data[last] = value


def _get(data: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        try:
            data = data[int(part)] if isinstance(data, list) else data[part]
        except (KeyError, IndexError, ValueError, TypeError):
            return None
    return data


def seal(schema: dict[str, Any], data: dict[str, Any], encrypt: Callable[[str, str], str],
         *, skip: Collection[str] = ()) -> tuple[dict[str, Any], dict[str, str]]:
    """(form to store and show, with numbers masked; ciphertexts of those numbers by dotted path; `skip` names
    paths whose ciphertext is carried over from before).
    `encrypt(value, context)` is the PII cipher; the context names the kind so a token can't be swapped."""
    shown: dict[str, Any] = json.loads(json.dumps(data))
    sealed: dict[str, str] = {}
    for path, kind, value in _sensitive_paths(schema, data):
        if ".".join(path) in skip:  # a masked echo of a number already sealed: leave it as shown
            continue
        sealed[".".join(path)] = encrypt(value, f"case.form.{kind}")
        _put(shown, path, mask_id_number(value) if kind == "id" else mask_phone(value))
    return shown, sealed


def _kind_of(token_path: str, sealed_kinds: dict[str, str]) -> str:
    return sealed_kinds.get(token_path, "id")


def unseal(schema: dict[str, Any], shown: dict[str, Any], sealed: dict[str, str],
           decrypt: Callable[[str, str], str]) -> dict[str, Any]:
    """The full form again (to validate a resubmission that kept sealed numbers unchanged)."""
    full: dict[str, Any] = json.loads(json.dumps(shown))
    kinds = {".".join(path): kind for path, kind, _ in _sensitive_paths(schema, shown)}
    for dotted, token in sealed.items():
        path = tuple(dotted.split("."))
        if _get(full, path) is None:
            continue
        _put(full, path, decrypt(token, f"case.form.{_kind_of(dotted, kinds)}"))
    return full


def keep_sealed_when_masked(previous_shown: dict[str, Any], previous_sealed: dict[str, str],
                            submitted: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """A client echoes the masked value back for a number it did not change: keep the stored ciphertext for it.
    Returns (the submitted form, ciphertexts carried over by path); carried values are put back by `unseal`."""
    carried = {dotted: token for dotted, token in previous_sealed.items()
               if _get(submitted, tuple(dotted.split("."))) is not None
               and _get(submitted, tuple(dotted.split("."))) == _get(previous_shown, tuple(dotted.split(".")))}
    return submitted, carried


def prefill(schema: dict[str, Any], identity_shown: dict[str, str], earlier: dict[str, Any]) -> dict[str, Any]:
    """Values to show in a new form: the profile's (masked) identity, then earlier non-sensitive answers.

    Numbers inside earlier answers (a co-owner's ID number in a list, say) are left out, not carried masked: a
    masked number cannot be sealed on the new case, so the applicant types it again."""
    values: dict[str, Any] = {}
    for name, field in schema.get("properties", {}).items():
        if name in identity_shown:
            values[name] = identity_shown[name]
        elif name in earlier and not (isinstance(field, dict) and is_sensitive(name, field)):
            values[name] = json.loads(json.dumps(earlier[name]))  # a copy: numbers are removed below
    for path, _, _ in _sensitive_paths(schema, values):
        if path[0] not in identity_shown:
            parent = _get(values, path[:-1])
            if isinstance(parent, dict):
                del parent[path[-1]]
    return values


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    return {name for name in set(before) | set(after) if before.get(name) != after.get(name)}
