"""The load generator: wrk from a second process, pinned to its own CPU when the machine has two."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

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
