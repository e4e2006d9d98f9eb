"""Routes that exist only in tests: an echo endpoint with a validated body, a slow one and a failing one."""

from __future__ import annotations

import asyncio

from pydantic import BaseModel, Field
from tornado.routing import URLSpec

from mobile_api.base import BaseHandler
from mobile_api.openapi import operation
from mobile_api.routing import route


class EchoIn(BaseModel):
    name: str = Field(min_length=1, max_length=10)
    age: int = Field(ge=0, le=150)


class EchoHandler(BaseHandler):
    @operation(summary="test echo", request=EchoIn, response=EchoIn)
    async def post(self) -> None:
        self.send(self.parse(EchoIn))


class SlowHandler(BaseHandler):
    async def get(self) -> None:
        await asyncio.sleep(float(self.get_query_argument("s", "0.5")))
        self.send({"slept": True})


class BoomHandler(BaseHandler):
    async def get(self) -> None:
        raise RuntimeError("secret detail 110101199003077777 must not leak")


def extra_routes() -> list[URLSpec]:
    return [route("/_test/echo", EchoHandler), route("/_test/slow", SlowHandler), route("/_test/boom", BoomHandler)]
