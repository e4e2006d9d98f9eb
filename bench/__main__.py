"""`./dev bench`: GET /healthz of the real app against bare Tornado, loaded by wrk from a second process.

Both servers run in this same invocation on this same machine, alternately (never at once), each for the same
bounded time on loopback; the result is a ratio, so machine speed cancels out. Target: app ≥ 80 % of bare.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from devstack.servers import LocalStack, free_port, wait_for_port

TARGET = 0.80
# Server on CPU 0, load generator on CPU 1 (when the machine has two and taskset exists): less scheduler noise,
# the same for both servers.
_PIN = shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2
PIN_SERVER = ["taskset", "-c", "0"] if _PIN else []
PIN_LOAD = ["taskset", "-c", "1"] if _PIN else []


def wrk(url: str, seconds: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        [*PIN_LOAD, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url],
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (./dev bench installs it through devstack/bootstrap.sh)")

    with tempfile.TemporaryDirectory(prefix="zsb-bench-") as tmp:
        workdir = Path(tmp)
        stack = LocalStack(workdir / "stack").start()
        procs = []
        try:
            env = {k: v for k, v in os.environ.items() if not k.startswith("ZSB_")}
            bare_port, app_port = free_port(), free_port()
            env.update(stack.env(), ZSB_ENV="test", ZSB_PORT=str(app_port), ZSB_MONGODB_DB="zsb_bench")
            logs = (workdir / "servers.log").open("w")
            procs.append(subprocess.Popen([*PIN_SERVER, sys.executable, "-m", "bench.bare_tornado", str(bare_port)],
                                          stdout=logs, stderr=subprocess.STDOUT))
            # The app writes its JSON request log line per request, as in production (to a file here).
            procs.append(subprocess.Popen([*PIN_SERVER, sys.executable, "-m", "mobile_api"], env=env,
                                          stdout=logs, stderr=subprocess.STDOUT))
            wait_for_port(bare_port, 30, procs[0])
            wait_for_port(app_port, 60, procs[1])
            targets = {"bare": f"http://127.0.0.1:{bare_port}/healthz", "app": f"http://127.0.0.1:{app_port}/healthz"}
            for url in targets.values():  # warm-up
                wrk(url, 1, args.connections)
            results: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
            for _ in range(args.rounds):
                for name, url in targets.items():
                    results[name].append(wrk(url, args.seconds, args.connections))
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(10)
            stack.stop()

    # Each round measures bare then app back to back; the ratio of each pair cancels slow drifts of the machine,
    # and the median of the pairs is the figure (min and max show the noise).
    ratios = sorted(a["rps"] / b["rps"] for b, a in zip(results["bare"], results["app"], strict=True))
    ratio = statistics.median(ratios)
    print(f"GET /healthz, wrk -t1 -c{args.connections} -d{args.seconds}s, {args.rounds} rounds, loopback"
          + (", server on CPU 0 and wrk on CPU 1" if PIN_SERVER else ""))
    print(f"{'server':<8}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}   (median round)")
    for name in ("bare", "app"):
        r = sorted(results[name], key=lambda run: run["rps"])[len(results[name]) // 2]
        print(f"{name:<8}{r['rps']:>10.0f}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}")
    verdict = "meets" if ratio >= TARGET else "MISSES"
    print(f"ratio app/bare = {ratio:.2f} (median of {len(ratios)} rounds, min {ratios[0]:.2f}, max {ratios[-1]:.2f};"
          f" {verdict} the {TARGET:.0%} target)")
    sys.exit(0 if ratio >= TARGET else 1)


if __name__ == "__main__":
    main()
