"""The baseline: the smallest Tornado JSON handlers, with Tornado's defaults (no logging configured).

`/healthz` answers like the app's health check; `/payload?size=N` answers N bytes of JSON from memory (GET or POST), the
stand-in for a guide, a search page or an upload slot of the same size (no database, no cache, no middleware).
"""

import asyncio
import json
import sys

from tornado.web import Application, RequestHandler

_PAYLOADS: dict[int, bytes] = {}


class Health(RequestHandler):
    def get(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(b'{"status":"ok"}')


class Payload(RequestHandler):
    def get(self) -> None:
        size = int(self.get_query_argument("size", "1000"))
        body = _PAYLOADS.get(size)
        if body is None:
            filler = "x" * max(size - 12, 0)
            body = _PAYLOADS[size] = json.dumps({"data": filler}).encode()
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(body)

    def post(self) -> None:  # the stand-in for a POST answered from one JSON body (an upload slot)
        self.get()


async def main(port: int) -> None:
    Application([(r"/healthz", Health), (r"/payload", Payload)]).listen(port, "127.0.0.1")
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
