"""Writes beside the read load of `./dev bench my-cases inbox`: the page under test changes while it is read.

Read alone, a list's first page is served as kept (core/list_cache.py, `Inbox.page` in affairs/case_tasks.py)
and the benchmark would measure little more than the cache. On a working day the department's staff claim and
release tasks and residents save drafts, and every such commit replaces the scope's generation, so the next
read goes to the database. A writer thread here does exactly that through the API at a steady rate — the
inbox's staff member claiming, then releasing, an open task of the first page; the resident saving their
draft — and the figure reported beside the read-only one is the read latency under those writes (plus the
writes' own latency).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable

import httpx

WRITES_PER_S = 4.0  # a busy department: four committed changes to its open tasks every second


class Churn:
    """A thread writing at `rate` per second with `step` until stopped; any failed write fails the run."""

    def __init__(self, step: Callable[[httpx.Client], httpx.Response], *, app: str, token: str,
                 rate: float = WRITES_PER_S) -> None:
        self._step, self._rate = step, rate
        self._client = httpx.Client(base_url=app, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-churn", daemon=True)
        self.latencies_ms: list[float] = []
        self.error: str | None = None

    def __enter__(self) -> Churn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(15)
        self._client.close()
        if self.error:
            raise RuntimeError(f"a write beside the load failed: {self.error}")

    def _run(self) -> None:
        interval, next_at = 1.0 / self._rate, time.monotonic()
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                answer = self._step(self._client)
            except httpx.HTTPError as exc:
                self.error = repr(exc)
                return
            if answer.status_code != 200:
                self.error = f"{answer.request.method} {answer.request.url.path}: {answer.status_code} {answer.text}"
                return
            self.latencies_ms.append((time.perf_counter() - started) * 1000)
            next_at += interval
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    @staticmethod
    def merged(churns: list[Churn]) -> str:
        """Count and p50/p99 of the writes of all rounds."""
        latencies = [ms for churn in churns for ms in churn.latencies_ms]
        if len(latencies) < 2:
            return f"{len(latencies)} writes"
        cuts = statistics.quantiles(latencies, n=100)
        return f"{len(latencies)} writes, p50 {cuts[49]:.1f} ms, p99 {cuts[98]:.1f} ms"


def inbox_step(app: str, token: str) -> Callable[[httpx.Client], httpx.Response]:
    """Claim, then release, an unclaimed task of the staff member's first page: each a committed change to the
    department's open tasks (the page shows who holds a task)."""
    page = httpx.get(f"{app}/api/v1/staff/tasks", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    page.raise_for_status()
    unclaimed = [item["id"] for item in page.json()["items"] if item["state"] == "open"]
    if not unclaimed:
        raise RuntimeError("no unclaimed task on the benchmarked inbox's first page")
    task_id, claimed = unclaimed[0], False

    def step(client: httpx.Client) -> httpx.Response:
        nonlocal claimed
        answer = client.post(f"/api/v1/staff/tasks/{task_id}/{'release' if claimed else 'claim'}")
        if answer.status_code == 200:
            claimed = not claimed
        return answer

    return step


def my_cases_step(app: str, token: str, draft_id: str) -> Callable[[httpx.Client], httpx.Response]:
    """The resident saving their draft again (the form as they have it): a committed change to their list."""
    case = httpx.get(f"{app}/api/v1/cases/{draft_id}", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    case.raise_for_status()
    form = case.json()["form"]

    def step(client: httpx.Client) -> httpx.Response:
        return client.put(f"/api/v1/cases/{draft_id}", json={"form": form})

    return step
