"""Delivery reports (status callbacks) of the SMS simulators: POSTed, in the provider's own JSON format, to the
URL a provider account would have configured, some time after the send.

Like the providers, one POST may carry several reports (every report that fell due in the same window goes in
one JSON array). The receiver must answer 200 with the provider's acknowledgement (Aliyun `{"code": 0}`,
Tencent `{"result": 0}`); otherwise the batch is posted again, up to 3 attempts. A test or demo can make the
next report for a number a failure (the phone was off, the number is void) through the control API.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import structlog
from tornado.web import RequestHandler

from core.pii import normalise_phone
from simulators.control import ControlErrors

log = structlog.get_logger(__name__)

ATTEMPTS = 3
RETRY_DELAYS_S = (0.5, 2.0)


@dataclass
class ForcedFailure:
    code: str
    message: str
    remaining: int


class ReportSender:
    def __init__(self, *, url: str, delay_ms: int, acknowledged: Callable[[Any], bool]) -> None:
        self.default_url, self.default_delay_ms = url, delay_ms
        self.acknowledged = acknowledged  # does the receiver's JSON answer say "received"?
        self._handle: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.reset()

    def reset(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle = None
        self.url, self.delay_ms = self.default_url, self.default_delay_ms
        self.pending: list[dict[str, Any]] = []
        self.failures: dict[str, ForcedFailure] = {}  # E.164 number -> the next report(s) fail
        self.posted: list[dict[str, Any]] = []  # every POST made: body, status, acknowledged
        self.counts = {"reports_scheduled": 0, "reports_acknowledged": 0, "report_posts_failed": 0}

    def configure(self, body: dict[str, Any]) -> dict[str, Any]:
        if "report_url" in body:
            url = str(body["report_url"] or "")
            if url and not url.startswith(("http://", "https://")):
                raise ValueError("report_url must be an http(s) URL, or empty for no reports")
            self.url = url
        if "report_delay_ms" in body:
            delay = int(body["report_delay_ms"])
            if not 0 <= delay <= 600_000:
                raise ValueError("report_delay_ms must be 0-600000")
            self.delay_ms = delay
        return {"report_url": self.url, "report_delay_ms": self.delay_ms}

    def force_failure(self, phone_e164: str, code: str, message: str, times: int = 1) -> None:
        if times < 1 or not code:
            raise ValueError("times must be >= 1 and code non-empty")
        self.failures[phone_e164] = ForcedFailure(code, message, times)

    def take_failure(self, phone_e164: str) -> tuple[str, str] | None:
        """The forced failure for this number's next report, if any (used up by this call)."""
        forced = self.failures.get(phone_e164)
        if forced is None:
            return None
        forced.remaining -= 1
        if forced.remaining <= 0:
            del self.failures[phone_e164]
        return forced.code, forced.message

    def schedule(self, report: dict[str, Any]) -> None:
        """Queue one report; the batch goes out `delay_ms` after the first report of the window."""
        if not self.url:
            return
        self.pending.append(report)
        self.counts["reports_scheduled"] += 1
        if self._handle is None:
            loop = asyncio.get_running_loop()
            self._handle = loop.call_later(self.delay_ms / 1000, self._start_flush)

    def stats(self) -> dict[str, Any]:
        return {**self.counts, "reports_pending": len(self.pending), "report_url": self.url,
                "report_delay_ms": self.delay_ms}

    def _start_flush(self) -> None:
        self._handle = None
        batch, self.pending = self.pending, []
        if batch:
            task = asyncio.get_running_loop().create_task(self._post(self.url, batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _post(self, url: str, batch: list[dict[str, Any]]) -> None:
        body = json.dumps(batch, ensure_ascii=False).encode()
        async with httpx.AsyncClient(timeout=5) as client:
            for attempt in range(1, ATTEMPTS + 1):
                record: dict[str, Any] = {"url": url, "reports": batch, "attempt": attempt}
                try:
                    response = await client.post(url, content=body, headers={"Content-Type": "application/json"})
                    record["status"] = response.status_code
                    answer = _json_or_none(response.content)
                    record["acknowledged"] = response.status_code == 200 and self.acknowledged(answer)
                except httpx.HTTPError as exc:
                    record.update(status=None, acknowledged=False, error=type(exc).__name__)
                self.posted.append(record)
                if record["acknowledged"]:
                    self.counts["reports_acknowledged"] += len(batch)
                    return
                self.counts["report_posts_failed"] += 1
                if attempt < ATTEMPTS:
                    await asyncio.sleep(RETRY_DELAYS_S[attempt - 1])
        log.warning("sim_sms_reports_undelivered", url=url, reports=len(batch))


def _json_or_none(content: bytes) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        return None


# -- control API, the same for every SMS simulator (`/_sim/<name>/config`, `…/reports`, `…/reports/failures`) ----
class _ReportControl(ControlErrors, RequestHandler):
    """Control requests: bad ones are the caller's 400 (simulators/control.py)."""

    def initialize(self, reports: ReportSender) -> None:
        self.reports = reports

    def send_json(self, body: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json;charset=utf-8")
        self.finish(json.dumps(body, ensure_ascii=False))


class ReportConfigHandler(_ReportControl):
    """Where and when reports go: `{"report_url", "report_delay_ms"}` (a reset restores the settings)."""

    def get(self) -> None:
        self.send_json(self.reports.configure({}))

    def post(self) -> None:
        self.send_json(self.reports.configure(self.json_body()))


class ReportsHandler(_ReportControl):
    """Every POST of reports made so far (body, receiver's status, acknowledged or not), oldest first."""

    def get(self) -> None:
        self.send_json({"posts": self.reports.posted, **self.reports.stats()})


class ReportFailuresHandler(_ReportControl):
    """Make the next report(s) for a number a failure: `{"phone", "code"?, "message"?, "times"?}`."""

    def initialize(self, reports: ReportSender, default_failure: tuple[str, str] = ("MK:0001", "用户接收失败")) -> None:
        super().initialize(reports)
        self.default_failure = default_failure

    def post(self) -> None:
        body = self.json_body()
        phone = normalise_phone(str(body.get("phone") or "").strip())
        code = str(body.get("code") or self.default_failure[0])
        self.reports.force_failure(phone, code, str(body.get("message") or self.default_failure[1]),
                                   int(body.get("times", 1)))
        self.send_json({"phone": phone, "code": code, "times": int(body.get("times", 1))})


def report_routes(name: str, reports: ReportSender, default_failure: tuple[str, str]) -> list[Any]:
    kwargs = {"reports": reports}
    return [
        (f"/_sim/{name}/config", ReportConfigHandler, kwargs),
        (f"/_sim/{name}/reports", ReportsHandler, kwargs),
        (f"/_sim/{name}/reports/failures", ReportFailuresHandler, {**kwargs, "default_failure": default_failure}),
    ]
