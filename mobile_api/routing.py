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
