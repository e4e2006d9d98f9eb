import re

from openapi_spec_validator import validate
from pydantic import BaseModel

from core import errors as E
from mobile_api.base import BaseHandler
from mobile_api.openapi import build_openapi, operation
from mobile_api.routing import route


class ThingOut(BaseModel):
    id: str


class ThingHandler(BaseHandler):
    @operation(summary="读取", tags=["things"], response=ThingOut, errors=(E.NOT_FOUND,))
    async def get(self, thing_id: str) -> None: ...


def test_route_template_becomes_regex_and_label() -> None:
    spec = route("/api/v1/things/{thing_id}/parts.json", ThingHandler)
    assert spec.name == "/api/v1/things/{thing_id}/parts.json"
    assert spec.kwargs["route"] == spec.name
    match = re.match(spec.regex, "/api/v1/things/01ABC/parts.json")
    assert match and match.group("thing_id") == "01ABC"
    assert not re.match(spec.regex, "/api/v1/things/01ABC/partsXjson")
    assert not re.match(spec.regex, "/api/v1/things/a/b/parts.json")


def test_document_from_declared_operations() -> None:
    document = build_openapi([route("/things/{thing_id}", ThingHandler)], title="t", version="1", server_url="http://x")
    validate(document)
    op = document["paths"]["/things/{thing_id}"]["get"]
    assert op["parameters"][0] == {"name": "thing_id", "in": "path", "required": True, "schema": {"type": "string"}}
    assert op["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ThingOut"}
    assert op["responses"]["404"]["x-errcodes"] == ["NOT_FOUND"]
    assert op["responses"]["500"]["x-errcodes"] == ["INTERNAL_ERROR"]
    assert "ErrorOut" in document["components"]["schemas"]


def test_errcodes_are_unique() -> None:
    assert E.define("NOT_FOUND", 404, "请求的接口不存在") is not None  # same meaning: allowed
    try:
        E.define("NOT_FOUND", 400, "别的意思")
    except ValueError:
        pass
    else:
        raise AssertionError("redefining an errcode with another meaning must fail")


def test_literal_segments_win_over_parameters_whatever_the_order() -> None:
    from mobile_api.routing import by_specificity

    listed = [route("/m/{code}", ThingHandler), route("/m/{code}/draft", ThingHandler), route("/m/export", ThingHandler),
              route("/m/imports/{job_id}", ThingHandler), route("/m", ThingHandler)]
    ordered = [spec.name for spec in by_specificity(listed)]
    assert ordered.index("/m/export") < ordered.index("/m/{code}")
    assert ordered.index("/m/imports/{job_id}") < ordered.index("/m/{code}/draft")
    first = next(spec for spec in by_specificity(listed) if re.match(spec.regex, "/m/export"))
    assert first.name == "/m/export"


class UploadHandler(BaseHandler):
    @operation(summary="上传", raw_request="application/zip", raw_response="application/zip",
               query=(("department", "部门"),), headers=(("Idempotency-Key", "幂等键"),))
    async def post(self) -> None: ...


def test_binary_bodies_query_parameters_and_headers_are_documented() -> None:
    document = build_openapi([route("/uploads", UploadHandler)], title="t", version="1", server_url="http://x")
    validate(document)
    op = document["paths"]["/uploads"]["post"]
    binary = {"schema": {"type": "string", "format": "binary"}}
    assert op["requestBody"]["content"] == {"application/zip": binary}
    assert op["responses"]["200"]["content"] == {"application/zip": binary}
    assert {"413", "415"} <= set(op["responses"])
    assert [(p["name"], p["in"]) for p in op["parameters"]] == \
        [("department", "query"), ("Idempotency-Key", "header"), ("X-Request-ID", "header")]
