"""The load generator: wrk from a second process, pinned to its own CPU when the machine has two."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

# Servers on CPU 0, wrk on CPU 1 (when possible): less scheduler noise, the same for both servers.
_PIN = shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2
PIN_SERVER = ["taskset", "-c", "0"] if _PIN else []
PIN_LOAD = ["taskset", "-c", "1"] if _PIN else []


def wrk(url: str, seconds: int, connections: int, *, script: str | None = None) -> dict[str, float]:
    """Requests per second and p50/p99 latency in ms; any non-2xx answer fails the run. `script`: a wrk Lua
    script shaping each request (method, headers, body)."""
    out = subprocess.run(
        [*PIN_LOAD, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", *(["-s", script] if script else []),
         url],
        check=True, capture_output=True, text=True, timeout=seconds + 30,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if non_2xx:
        raise RuntimeError(f"{url}: {non_2xx[1]} error responses during the run")
    return {"rps": rps, "p50_ms": _ms(out, "50%"), "p99_ms": _ms(out, "99%")}


def _ms(out: str, pct: str) -> float:
    value, unit = re.search(rf"{re.escape(pct)}\s+([\d.]+)(us|ms|s)", out).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until_idle(pid: int, *, below: float = 0.10, for_s: float = 3.0, within_s: float = 300.0) -> float:
    """Seconds until the process used less than `below` of a core for `for_s` in a row. After a bulk load the
    database keeps a core busy for a while (WiredTiger evicting and checkpointing): load generated meanwhile
    measures that, not the app."""
    started = time.monotonic()
    quiet = 0.0
    while time.monotonic() - started < within_s and quiet < for_s:
        before = cpu_seconds(pid)
        time.sleep(1.0)
        quiet = quiet + 1.0 if cpu_seconds(pid) - before < below else 0.0
    return time.monotonic() - started
