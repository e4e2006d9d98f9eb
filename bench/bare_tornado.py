"""The baseline: the smallest Tornado JSON handler, with Tornado's defaults (no logging configured)."""

import asyncio
import sys

from tornado.web import Application, RequestHandler


class Health(RequestHandler):
    def get(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(b'{"status":"ok"}')


async def main(port: int) -> None:
    Application([(r"/healthz", Health)]).listen(port, "127.0.0.1")
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
