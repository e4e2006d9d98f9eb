"""Publishing Celery tasks from the IOLoop without blocking it.

`send_task` talks to Redis synchronously; it runs in a small thread pool so a slow broker delays only the
caller's coroutine, never the loop.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from celery import Celery


class TaskPublisher:
    def __init__(self, app: Celery, *, max_workers: int = 4) -> None:
        self._app = app
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="celery-pub")

    async def send(self, name: str, *args: Any, queue: str = "default", **kwargs: Any) -> str:
        send = partial(self._app.send_task, name, args=args, kwargs=kwargs, queue=queue)
        result = await asyncio.get_running_loop().run_in_executor(self._executor, send)
        return result.id

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
