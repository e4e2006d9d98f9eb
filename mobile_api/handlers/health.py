"""Liveness, readiness and metrics endpoints for the orchestrator and Prometheus."""

from __future__ import annotations

import asyncio
from typing import Literal

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from core import errors as E
from mobile_api.base import BaseHandler, log
from mobile_api.openapi import operation

_ALIVE = b'{"status":"ok"}'


class HealthOut(BaseModel):
    status: Literal["ok"]


class ReadinessOut(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(description="每个依赖：`ok`，或失败原因（如 `timeout`）")


class HealthzHandler(BaseHandler):
    @operation(summary="存活检查：进程在运行即返回 200", tags=["运维"], response=HealthOut)
    def get(self) -> None:  # synchronous on purpose: the cheapest possible answer for probes
        self.finish(_ALIVE)


class ReadyzHandler(BaseHandler):
    @operation(
        summary="就绪检查：MongoDB、Redis、S3 均可用才返回 200",
        description="每个依赖各有不超过 `ZSB_DEPENDENCY_CHECK_TIMEOUT_S` 秒的检查时间；任一不可用时返回 503，"
        "`checks` 中写明是哪一个及原因。",
        tags=["运维"],
        response=ReadinessOut,
        errors=(E.SERVICE_UNAVAILABLE,),
    )
    async def get(self) -> None:
        checks = await self.deps.check()
        ok = all(value == "ok" for value in checks.values())
        self.send(ReadinessOut(status="ok" if ok else "unavailable", checks=checks), status=200 if ok else 503)


class MetricsHandler(BaseHandler):
    @operation(summary="Prometheus 指标", tags=["运维"], media_type="text/plain")
    async def get(self) -> None:
        try:  # delivery counts come from MongoDB (notifications/metrics.py); a scrape must not fail without it
            await asyncio.wait_for(self.deps.notifications.metrics.refresh(), self.deps.settings.dependency_check_timeout_s)
        except Exception as exc:
            log.warning("notification_metrics_stale", error=type(exc).__name__)
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(generate_latest())
