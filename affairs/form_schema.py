"""The application form of a matter: a JSON Schema the H5 page and the mini-program render field by field.

A schema is checked when it is written, not when a resident first opens the form: it must be a valid JSON Schema
(checked against the meta-schema of its dialect by the `jsonschema` library; Draft 2020-12 unless `$schema` says
otherwise), describe an object with at least one field, give every field a Chinese `title` (the label residents
read), and reference nothing outside itself (a remote `$ref` would make rendering depend on another server).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator, SchemaError
from jsonschema.validators import validator_for

MAX_SCHEMA_BYTES = 64 * 1024
_CJK_RE = re.compile(r"[\u4e00-\u9fff]")


def check_form_schema(schema: Any) -> dict[str, Any]:
    """The schema unchanged, or ValueError with a Chinese reason that names the place inside the schema."""
    if not isinstance(schema, dict):
        raise ValueError("表单须为 JSON Schema 对象")
    if len(json.dumps(schema, ensure_ascii=False).encode()) > MAX_SCHEMA_BYTES:
        raise ValueError(f"表单定义不能超过 {MAX_SCHEMA_BYTES // 1024} KB")
    try:
        validator_for(schema, default=Draft202012Validator).check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(part) for part in exc.absolute_path) or "根节点"
        raise ValueError(f"不是有效的 JSON Schema（{where}）：{exc.message}") from None
    if schema.get("type") != "object" or not isinstance(schema.get("properties"), dict) or not schema["properties"]:
        raise ValueError("表单根节点须为 type: object，并在 properties 中至少列出一个字段")
    for path, node in _nodes(schema):
        ref = node.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            raise ValueError(f"表单不能引用外部定义（{path}）：{ref}")
    for path, field in _fields(schema, "properties"):
        title = field.get("title") if isinstance(field, dict) else None
        if not isinstance(title, str) or not _CJK_RE.search(title):
            raise ValueError(f"字段 {path} 须有中文标题（title）")
    return schema


def _nodes(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every sub-schema object anywhere in the document (to look for `$ref`)."""
    if isinstance(node, dict):
        yield path or "根节点", node
        for key, value in node.items():
            yield from _nodes(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _nodes(value, f"{path}/{index}")


def _fields(schema: dict[str, Any], path: str) -> Iterator[tuple[str, Any]]:
    """Every field a person fills in: object properties, recursively, and the items of arrays of objects."""
    for name, field in schema.get("properties", {}).items():
        here = f"{path}.{name}"
        yield here, field
        if not isinstance(field, dict):
            continue
        if field.get("type") == "object":
            yield from _fields(field, f"{here}.properties")
        items = field.get("items")
        if field.get("type") == "array" and isinstance(items, dict) and items.get("type") == "object":
            yield from _fields(items, f"{here}.items.properties")
