"""The simulators' application: provider routes plus the `/_sim/` control API."""

from __future__ import annotations

import json

from tornado.web import Application, RequestHandler

# Each provider module contributes (name, description, routes). Providers arrive with the issues that use them.
PROVIDERS: list[tuple[str, str, list[tuple[str, type[RequestHandler]]]]] = []


class SimIndexHandler(RequestHandler):
    def get(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps({
            "status": "ok",
            "providers": [{"name": name, "description": desc} for name, desc, _ in PROVIDERS],
        }, ensure_ascii=False))


def make_sim_app() -> Application:
    routes: list[tuple[str, type[RequestHandler]]] = [(r"/_sim/?", SimIndexHandler)]
    for _, _, provider_routes in PROVIDERS:
        routes += provider_routes
    return Application(routes)
