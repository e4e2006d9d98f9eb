"""`./dev bench`: the real app against bare Tornado, loaded by wrk from a second process, in the same run.

Scenarios (each with its own target):
- `healthz`: GET /healthz at 16 connections; app ≥ 80 % of bare.
- `guide`:   GET of a published guide (the hottest catalogue read) at 50 connections; ≥ 50 % of bare, p99 < 50 ms.
- `search`:  GET of a search page (`?q=出生`) at 50 connections; ≥ 50 % of bare, p99 < 50 ms. One popular query
             asked again and again, as on a busy morning: mostly the page cache, plus a refill every 10 s.
- `documents`: upload slots per second (≥ 10 % of bare, p99 < 100 ms), confirmation latency of a 5 MB PDF and
             a 5 MB photo, and the API's RSS while 200 files go straight to S3 (bench/documents.py).
- `my-cases`, `inbox`: a resident's case list and a staff inbox with 100,000 cases in the database, 50
             connections, read alone and while the page is written to 4 times a second; p99 < 50 ms, ratio
             reported (bench/cases.py, bench/cases_churn.py).
- `notifications`: 20,000 notifications from the outbox through the relay and Celery workers to the SMS
             simulator; total < 2 minutes, rate and p99 latency reported, zero duplicates and lost
             (bench/notifications.py).
- `callbacks`, `opening-day`: verified WeChat Pay callbacks per second with 10× duplicates (≥ 500/s, exactly one
             state change per order), and 10,000 parents paying on opening day against the payment simulators
             (bench/payments.py, bench/payments_day.py).
For the catalogue scenarios the bare server answers a JSON payload of the same size from memory. Both servers
run on this machine, alternately (never at once), each for the same bounded time on loopback; every round
measures bare then app back to back, and the median of the per-round ratios is the figure, so machine speed
and slow drifts cancel out. The app runs with the demo catalogue (ZSB_ENV=dev seeds it at start-up).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx

from bench.cases import CASE_SCENARIOS, run_case_scenario
from bench.documents import APP_ENV, CONNECTIONS, SLOTS_P99_MS, SLOTS_TARGET, run_documents
from bench.load import PIN_SERVER, wrk
from bench.notifications import run_notifications
from bench.payments import run_callbacks, run_opening_day
from devstack.servers import LocalStack, free_port, wait_for_port


@dataclass(frozen=True)
class Scenario:
    name: str
    app_path: str
    connections: int
    target_ratio: float
    max_p99_ms: float | None = None


SCENARIOS = {
    "healthz": Scenario("healthz", "/healthz", 16, 0.80),
    "guide": Scenario("guide", "/api/v1/matters/{guide}", 50, 0.50, 50.0),
    "search": Scenario("search", "/api/v1/matters?q=" + quote("出生"), 50, 0.50, 50.0),
    "documents": Scenario("documents", "/api/v1/documents/slots", CONNECTIONS, SLOTS_TARGET, SLOTS_P99_MS),
}


def start_servers(workdir: Path, stack: LocalStack) -> tuple[list[subprocess.Popen[bytes]], str, str, str]:
    """Bare, app and (for residents signing in, `documents`) the simulators: procs[1] is the app."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZSB_")}
    bare_port, app_port, sim_port = free_port(), free_port(), free_port()
    # env=dev seeds the demo catalogue; the app still writes its JSON request line per request (to a file here).
    env.update(stack.env() | APP_ENV, ZSB_ENV="dev", ZSB_PORT=str(app_port), ZSB_MONGODB_DB="zsb_bench",
               ZSB_SIM_PORT=str(sim_port), ZSB_WECHAT_API_BASE_URL=f"http://127.0.0.1:{sim_port}/wechat",
               ZSB_POPULATION_BASE_URL=f"http://127.0.0.1:{sim_port}/population")  # residents bind IDs (cases)
    logs = (workdir / "servers.log").open("w")
    procs = [
        subprocess.Popen([*PIN_SERVER, sys.executable, "-m", "bench.bare_tornado", str(bare_port)],
                         stdout=logs, stderr=subprocess.STDOUT),
        subprocess.Popen([*PIN_SERVER, sys.executable, "-m", "mobile_api"], env=env,
                         stdout=logs, stderr=subprocess.STDOUT),
        subprocess.Popen([sys.executable, "-m", "simulators"], env=env, stdout=logs, stderr=subprocess.STDOUT),
    ]
    try:
        wait_for_port(bare_port, 30, procs[0])
        wait_for_port(app_port, 90, procs[1])
        wait_for_port(sim_port, 30, procs[2])
    except BaseException:  # a server that did not come up: stop the others, show why it ended
        stop_all(procs)
        logs.close()
        print((workdir / "servers.log").read_text(encoding="utf-8", errors="replace")[-4000:], file=sys.stderr)
        raise
    return procs, f"http://127.0.0.1:{bare_port}", f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{sim_port}"


def stop_all(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def urls_for(scenario: Scenario, bare: str, app: str) -> tuple[str, str]:
    path = scenario.app_path
    if "{guide}" in path:
        first = httpx.get(f"{app}/api/v1/matters?limit=1", timeout=10).json()["items"][0]["code"]
        path = path.format(guide=first)
    if scenario.name == "healthz":
        return f"{bare}/healthz", f"{app}{path}"
    size = len(httpx.get(f"{app}{path}", timeout=10).content)
    return f"{bare}/payload?size={size}", f"{app}{path}"


def run_scenario(scenario: Scenario, bare_url: str, app_url: str, *, rounds: int, seconds: int) -> bool:
    for url in (bare_url, app_url):  # warm-up: caches, JIT-free interpreters still fill their own caches
        wrk(url, 1, scenario.connections)
    pairs = [(wrk(bare_url, seconds, scenario.connections), wrk(app_url, seconds, scenario.connections))
             for _ in range(rounds)]
    ratios = sorted(app["rps"] / bare["rps"] for bare, app in pairs)
    ratio = statistics.median(ratios)
    app_p99 = statistics.median(app["p99_ms"] for _, app in pairs)
    print(f"\n{scenario.name}: GET {app_url.split('/', 3)[-1] or '/'}  (wrk -t1 -c{scenario.connections}"
          f" -d{seconds}s, {rounds} rounds)")
    print(f"  {'server':<6}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}   (median round)")
    for label, index in (("bare", 0), ("app", 1)):
        runs = sorted((pair[index] for pair in pairs), key=lambda r: r["rps"])
        r = runs[len(runs) // 2]
        print(f"  {label:<6}{r['rps']:>9.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}")
    ok = ratio >= scenario.target_ratio and (scenario.max_p99_ms is None or app_p99 < scenario.max_p99_ms)
    p99_goal = f", p99 < {scenario.max_p99_ms:.0f} ms" if scenario.max_p99_ms else ""
    print(f"  ratio app/bare = {ratio:.2f} (min {ratios[0]:.2f}, max {ratios[-1]:.2f}); app p99 {app_p99:.1f} ms"
          f" — {'meets' if ok else 'MISSES'} the target (≥ {scenario.target_ratio:.0%}{p99_goal})")
    return ok


def _interrupt_once(signum: int, frame: object) -> None:
    """SIGTERM → KeyboardInterrupt, once: a second signal must not cut the clean-up short."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    every = [*SCENARIOS, *CASE_SCENARIOS, "notifications", "callbacks", "opening-day"]
    parser.add_argument("scenarios", nargs="*", default=every, help="any of: " + ", ".join(every))
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--parents", type=int, default=10_000, help="opening-day: how many parents")
    parser.add_argument("--time-scale", type=float, default=0.25,
                        help="opening-day: real seconds per simulated second (0.25: 10 minutes in 150 s)")
    args = parser.parse_args()
    unknown = set(args.scenarios) - set(every)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}; choose from {', '.join(every)}")
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (./dev bench installs it through devstack/bootstrap.sh)")
    # A benchmark stopped with SIGTERM (kill, timeout) unwinds like Ctrl-C: every `finally` stops the servers it
    # started, rather than leaving a busy database behind to skew the next run.
    signal.signal(signal.SIGTERM, _interrupt_once)
    results = []
    with tempfile.TemporaryDirectory(prefix="zsb-bench-") as tmp:
        workdir = Path(tmp)
        stack = LocalStack(workdir / "stack").start()
        procs: list[subprocess.Popen[bytes]] = []
        try:
            procs, bare, app, sim = start_servers(workdir, stack)
            if PIN_SERVER:
                print("servers on CPU 0, wrk on CPU 1; loopback only")
            for name in args.scenarios:
                if name == "documents":
                    results.append(run_documents(app, bare, sim, procs[1].pid, workdir, rounds=args.rounds,
                                                 seconds=args.seconds))
                    continue
                if name == "notifications":
                    results.append(run_notifications(stack, sim, workdir))
                    continue
                if name == "callbacks":
                    results.append(run_callbacks(stack, sim, bare, workdir))
                    continue
                if name == "opening-day":
                    results.append(run_opening_day(stack, sim, workdir, parents=args.parents,
                                                   scale=args.time_scale))
                    continue
                if name in CASE_SCENARIOS:
                    results.append(run_case_scenario(name, stack, app, bare, sim, workdir, rounds=args.rounds,
                                                     seconds=args.seconds))
                    continue
                scenario = SCENARIOS[name]
                bare_url, app_url = urls_for(scenario, bare, app)
                results.append(run_scenario(scenario, bare_url, app_url, rounds=args.rounds, seconds=args.seconds))
        finally:
            stop_all(procs)
            stack.stop()
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
