"""The simulators' application: provider routes plus the `/_sim/` control API.

Each provider module exposes a `Provider` (name, description, routes). Real-protocol paths live under the
provider's own prefix (e.g. `/wechat/sns/jscode2session`); its control endpoints under `/_sim/<name>/…`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tornado.routing import Matcher
from tornado.web import Application, RequestHandler

from config.settings import Settings

Route = tuple[str | Matcher, type[RequestHandler], dict[str, Any]]  # a Matcher: e.g. `/` claimed by a header


@dataclass
class Provider:
    name: str
    description: str
    routes: list[Route] = field(default_factory=list)


def providers(settings: Settings) -> list[Provider]:
    """Every simulated provider. Each arrives with the issue whose adapter talks to it."""
    from simulators.alipay import alipay_provider
    from simulators.population import population_provider
    from simulators.sms_aliyun import aliyun_sms_provider
    from simulators.sms_tencent import tencent_sms_provider
    from simulators.wechat import wechat_provider
    from simulators.wechatpay import wechatpay_provider

    return [wechat_provider(settings), population_provider(settings), aliyun_sms_provider(settings),
            wechatpay_provider(settings), alipay_provider(settings), tencent_sms_provider(settings)]


class SimIndexHandler(RequestHandler):
    def initialize(self, providers: list[Provider]) -> None:
        self.providers = providers

    def get(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps({
            "status": "ok",
            "providers": [{"name": p.name, "description": p.description} for p in self.providers],
        }, ensure_ascii=False))


def make_sim_app(settings: Settings) -> Application:
    active = providers(settings)
    routes: list[Any] = [(r"/_sim/?", SimIndexHandler, {"providers": active})]
    for provider in active:
        routes += provider.routes
    return Application(routes)
