"""Routes are written as OpenAPI path templates (`/api/v1/cases/{case_id}`); the regex is derived from them, so
the template doubles as the metrics label and the OpenAPI path."""

from __future__ import annotations

import re
from typing import Any

from tornado.routing import URLSpec
from tornado.web import RequestHandler

_PARAM = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def route(template: str, handler: type[RequestHandler], **kwargs: Any) -> URLSpec:
    pattern = _PARAM.sub(lambda m: f"(?P<{m[1]}>[^/]+)", re.escape(template).replace(r"\{", "{").replace(r"\}", "}"))
    return URLSpec(f"^{pattern}$", handler, {"route": template, **kwargs}, name=template)


def by_specificity(routes: list[URLSpec]) -> list[URLSpec]:
    """The routes reordered so that, where two templates could match the same path, the one with a literal
    segment first wins over the one with a parameter there (OpenAPI's rule: `/admin/matters/export` before
    `/admin/matters/{code}`), whatever order the modules listed them in. Stable otherwise."""

    def shape(spec: URLSpec) -> tuple[int, ...]:
        template = spec.kwargs.get("route") or ""
        return tuple(1 if _PARAM.search(segment) else 0 for segment in template.split("/"))

    return sorted(routes, key=shape)
