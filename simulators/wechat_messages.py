"""WeChat simulator, messaging: `subscribeMessage.send` and the official account's template send, plus the
control API that plays the person (tap "allow", follow the account, read what arrived).

Both sends are POSTs with a JSON body and the access token in the query, answered like WeChat (HTTP 200,
`errcode`). They share the simulator's fault queue: `POST /_sim/wechat/faults` with their paths. The state and
rules are in simulators/wechat_messages_state.py; curl examples in docs/simulators.md.
"""

from __future__ import annotations

from typing import Any

from tornado.web import RequestHandler

from simulators.wechat import WeChatApiHandler, _ControlHandler
from simulators.wechat_messages_state import MessagingState
from simulators.wechat_state import ControlError, WeChatSimState
from simulators.wechat_templates import MINIPROGRAM, OFFICIAL_ACCOUNT


def messaging_of(sim: WeChatSimState) -> MessagingState:
    """The messaging state attached to this simulator (made on first use)."""
    for extension in sim.extensions:
        if isinstance(extension, MessagingState):
            return extension
    return MessagingState(sim)


class _SendHandler(WeChatApiHandler):
    get = RequestHandler.get  # POST only, as WeChat: anything else is a 405

    async def post(self) -> None:
        await self.serve()


class SubscribeSendHandler(_SendHandler):
    api_path = "/cgi-bin/message/subscribe/send"

    def answer(self) -> dict[str, Any]:
        return messaging_of(self.sim).send_subscribe(self.arg("access_token"), self.request.body)


class TemplateSendHandler(_SendHandler):
    api_path = "/cgi-bin/message/template/send"

    def answer(self) -> dict[str, Any]:
        return messaging_of(self.sim).send_template(self.arg("access_token"), self.request.body)


MESSAGE_HANDLERS: tuple[type[WeChatApiHandler], ...] = (SubscribeSendHandler, TemplateSendHandler)


# -- control API -----------------------------------------------------------------------------------------------
class _MessagingControl(_ControlHandler):
    @property
    def messaging(self) -> MessagingState:
        return messaging_of(self.sim)

    def who(self) -> tuple[str | None, str | None]:
        openid, unionid = self.arg("openid"), self.arg("unionid")
        if openid is None and unionid is None:
            raise ControlError("give ?openid= or ?unionid=")
        return openid, unionid

    def known_openid(self, kind: str) -> str | None:
        """The person's openid in one app from the query, without creating anyone."""
        openid, unionid = self.who()
        if openid is not None:
            return openid
        return self.sim.openid_by_union.get((self.sim.app_of(kind).appid, str(unionid)))


class GrantsHandler(_MessagingControl):
    def post(self) -> None:
        self.send_json(self.messaging.grant(self.body()))

    def get(self) -> None:
        openid = self.known_openid(MINIPROGRAM)
        if openid is None:
            self.send_json({"openid": None, "unionid": self.arg("unionid"), "grants": []})
            return
        unionid = self.sim.links.get((self.sim.app_of(MINIPROGRAM).appid, openid))
        self.send_json(self.messaging.grants_of(openid, unionid))

    def delete(self) -> None:
        openid = self.known_openid(MINIPROGRAM)
        if openid is None:
            raise ControlError("no such person in the mini-program")
        self.send_json(self.messaging.revoke(openid, self.arg("template_id")))


class FollowersHandler(_MessagingControl):
    def post(self) -> None:
        body = self.body()
        openid, unionid = self.messaging.person(OFFICIAL_ACCOUNT, body.get("openid"), body.get("unionid"))
        following = bool(body.get("follow", True))
        self.messaging.follow(openid, following)
        self.send_json({"openid": openid, "unionid": unionid, "following": following})

    def delete(self) -> None:
        openid = self.known_openid(OFFICIAL_ACCOUNT)
        if openid is not None:
            self.messaging.follow(openid, False)
        self.send_json({"openid": openid, "following": False})

    def get(self) -> None:
        self.send_json({"followers": sorted(self.messaging.followers)})


class MessagesHandler(_MessagingControl):
    def get(self) -> None:
        self.send_json({"messages": self.messaging.messages(self.arg("openid"), self.arg("unionid"))})


class TemplatesHandler(_MessagingControl):
    def get(self) -> None:
        self.send_json({"templates": [t.describe() for t in self.messaging.templates.values()]})

    def post(self) -> None:
        self.send_json(self.messaging.add_template(self.body()).describe(), status=201)


def messaging_control_routes(sim: WeChatSimState) -> list[Any]:
    messaging_of(sim)
    kwargs = {"sim": sim}
    control = {"subscribe-grants": GrantsHandler, "followers": FollowersHandler, "messages": MessagesHandler,
               "templates": TemplatesHandler}
    return [(f"/_sim/wechat/{name}", handler, kwargs) for name, handler in control.items()]
