"""The OpenAPI document and a Swagger UI page served from local assets (the machine may have no internet)."""

from __future__ import annotations

from pathlib import Path

import swagger_ui
from tornado.web import StaticFileHandler

from mobile_api.base import BaseHandler

SWAGGER_STATIC = Path(swagger_ui.__file__).parent / "static"

_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>掌上办 API 文档</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/docs/static/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true});</script>
</body></html>"""


class OpenApiHandler(BaseHandler):
    async def get(self) -> None:
        self.finish(self.application.settings["openapi_json"])


class DocsHandler(BaseHandler):
    async def get(self) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.finish(_PAGE)


class DocsStaticHandler(StaticFileHandler):
    """Swagger UI's own files; only the two the page loads are exposed."""

    ALLOWED = frozenset({"swagger-ui.css", "swagger-ui-bundle.js"})
    route = "/docs/static/{path}"

    def initialize(self, path: str = str(SWAGGER_STATIC), default_filename: str | None = None, **_: object) -> None:
        super().initialize(path=path, default_filename=default_filename)

    async def get(self, path: str, include_body: bool = True) -> None:
        if path not in self.ALLOWED:
            self.set_status(404)
            self.set_header("Content-Type", "application/json; charset=utf-8")
            self.finish('{"errcode":"NOT_FOUND","errmsg":"请求的接口不存在","request_id":""}')
            return
        await super().get(path, include_body)
