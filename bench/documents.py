"""`./dev bench documents`: the upload path of residents' documents, measured three ways.

- slots: `POST /api/v1/documents/slots` (quota read, rate-limit hit on Redis, a presigned POST policy signed in
  the S3 thread pool, one insert) by 100 signed-in residents in turn, with wrk at 16 connections, against the
  bare server answering a POST of the same size; ratio app/bare (median of paired rounds) and p99.
- confirm latency of a 5 MB file: a PDF (server-side copy, first bytes, SHA-256 streamed) and a 5 MB camera
  JPEG with GPS (the same, plus decoding and re-encoding the copy without metadata); p50 and max.
- memory: the API's resident set size sampled every 20 ms while 200 files of 2 MB go from "phones" straight to
  S3 (the API is asked for the slots first, then sees none of the bytes), then while those 200 are confirmed.
The residents sign in through the WeChat simulator as a phone would (the simulators run for this scenario).
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from bench.load import wrk

MB = 1024 * 1024
USERS, CONNECTIONS = 100, 16
SLOTS_TARGET, SLOTS_P99_MS = 0.10, 100.0  # of bare; a slot writes a record and signs a policy, bare does nothing
CONFIRM_PDF_P50_MS, CONFIRM_PHOTO_P50_MS = 500.0, 1000.0
RSS_GROWTH_UPLOADS_MB, RSS_GROWTH_CONFIRMS_MB = 4.0, 64.0
# The app of the benchmark may hand out many slots per person (the defaults would stop it within a second).
APP_ENV = {"ZSB_DOCUMENT_SLOTS_PER_HOUR": "100000000", "ZSB_DOCUMENT_QUOTA_COUNT": "100000000",
           "ZSB_DOCUMENT_QUOTA_BYTES": str(1 << 50)}
SLOT_BODY = {"purpose": "pdf", "file_name": "申请表.pdf", "size": 2 * MB, "content_type": "application/pdf"}


def sign_in(app: str, sim: str, count: int) -> list[str]:
    """Access tokens of `count` new residents (mini-program login through the WeChat simulator)."""
    tokens = []
    with httpx.Client(timeout=10) as client:
        for n in range(count):
            code = client.post(f"{sim}/_sim/wechat/codes", json={"app": "miniprogram", "openid": f"bench-{n}-{time.time_ns()}"})
            login = client.post(f"{app}/api/v1/auth/miniprogram/login", json={"code": code.json()["code"]})
            login.raise_for_status()
            tokens.append(login.json()["access_token"])
    return tokens


def slots_script(workdir: Path, tokens: list[str]) -> str:
    """A wrk script: the same JSON POST to the command line's URL, each request as the next resident."""
    body = json.dumps(SLOT_BODY, ensure_ascii=False)
    script = workdir / "slots.lua"
    script.write_text(
        "local tokens = {" + ",".join(f'"{t}"' for t in tokens) + "}\n"
        "local i = 0\n"
        f"local body = {json.dumps(body, ensure_ascii=False)}\n"
        "request = function()\n"
        "  i = i + 1\n"
        "  local headers = {['Content-Type'] = 'application/json',\n"
        "                   ['Authorization'] = 'Bearer ' .. tokens[(i % #tokens) + 1]}\n"
        "  return wrk.format('POST', nil, headers, body)\n"
        "end\n", encoding="utf-8")
    return str(script)


def bench_slots(app: str, bare: str, token: str, script: str, *, rounds: int, seconds: int) -> bool:
    one = httpx.post(f"{app}/api/v1/documents/slots", json=SLOT_BODY, timeout=10,
                     headers={"Authorization": f"Bearer {token}"})
    one.raise_for_status()
    bare_url, app_url = f"{bare}/payload?size={len(one.content)}", f"{app}/api/v1/documents/slots"
    for url in (bare_url, app_url):
        wrk(url, 1, CONNECTIONS, script=script)
    pairs = [(wrk(bare_url, seconds, CONNECTIONS, script=script), wrk(app_url, seconds, CONNECTIONS, script=script))
             for _ in range(rounds)]
    ratios = sorted(a["rps"] / b["rps"] for b, a in pairs)
    ratio, p99 = statistics.median(ratios), statistics.median(a["p99_ms"] for _, a in pairs)
    rps = statistics.median(a["rps"] for _, a in pairs)
    ok = ratio >= SLOTS_TARGET and p99 < SLOTS_P99_MS
    print(f"\ndocuments/slots: POST /api/v1/documents/slots as {USERS} residents (wrk -c{CONNECTIONS} -d{seconds}s,"
          f" {rounds} rounds)\n  app {rps:.0f} slots/s, bare {statistics.median(b['rps'] for b, _ in pairs):.0f} req/s;"
          f" ratio {ratio:.2f} (min {ratios[0]:.2f}, max {ratios[-1]:.2f}); app p99 {p99:.1f} ms"
          f" — {'meets' if ok else 'MISSES'} the target (≥ {SLOTS_TARGET:.0%}, p99 < {SLOTS_P99_MS:.0f} ms)")
    return ok


def camera_jpeg(target: int) -> bytes:
    """A noisy camera photo (with GPS EXIF) of about `target` bytes: what a 12 MP phone photo weighs."""
    exif = Image.Exif()
    exif.get_ifd(0x8825).update({1: "N", 2: (28.0, 16.0, 39.5), 3: "E", 4: (112.0, 33.0, 12.25)})
    side = int((target / 0.76) ** 0.5)  # noise at quality 85 costs about 0.76 bytes per pixel
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, exif=exif)
    return out.getvalue()


async def upload_one(client: httpx.AsyncClient, app: str, token: str, data: bytes, content_type: str,
                     purpose: str) -> str:
    auth = {"Authorization": f"Bearer {token}"}
    body = {"purpose": purpose, "file_name": "f", "size": len(data), "content_type": content_type, "via": "put"}
    created = (await client.post(f"{app}/api/v1/documents/slots", json=body, headers=auth)).json()
    put = await client.put(created["upload"]["url"], content=data, headers=created["upload"]["headers"])
    put.raise_for_status()
    return created["document"]["id"]


async def confirm_latency(app: str, tokens: list[str], repeats: int = 8) -> bool:
    pdf, jpeg = b"%PDF-1.7\n" + os.urandom(5 * MB - 9), camera_jpeg(5 * MB)
    results = {}
    async with httpx.AsyncClient(timeout=60) as client:
        for label, data, kind, purpose in (("PDF", pdf, "application/pdf", "pdf"), ("photo", jpeg, "image/jpeg", "photo")):
            times = []
            for n in range(repeats):
                token = tokens[n % len(tokens)]
                document_id = await upload_one(client, app, token, data, kind, purpose)
                started = time.perf_counter()
                answer = await client.post(f"{app}/api/v1/documents/{document_id}/confirm",
                                           headers={"Authorization": f"Bearer {token}"})
                times.append((time.perf_counter() - started) * 1000)
                answer.raise_for_status()
            results[label] = (statistics.median(times), max(times), len(data))
    ok = results["PDF"][0] < CONFIRM_PDF_P50_MS and results["photo"][0] < CONFIRM_PHOTO_P50_MS
    print(f"\ndocuments/confirm: POST …/confirm of a 5 MB file, {repeats} each, one at a time")
    for label, (p50, worst, size) in results.items():
        print(f"  {label:<6}{size / MB:>5.1f} MB  p50 {p50:7.1f} ms  max {worst:7.1f} ms")
    print(f"  — {'meets' if ok else 'MISSES'} the target (PDF p50 < {CONFIRM_PDF_P50_MS:.0f} ms, photo with its"
          f" metadata stripped p50 < {CONFIRM_PHOTO_P50_MS:.0f} ms)")
    return ok


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


class RssSampler:
    def __init__(self, pid: int) -> None:
        self.pid, self.samples, self._stop = pid, [rss_mb(pid)], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.samples.append(rss_mb(self.pid))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        self._thread.join()


async def memory_while_uploading(app: str, tokens: list[str], pid: int, files: int = 200) -> bool:
    data = b"%PDF-1.7\n" + os.urandom(2 * MB - 9)
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=40)) as client:
        slots = []
        for n in range(files):
            auth = {"Authorization": f"Bearer {tokens[n % len(tokens)]}"}
            body = SLOT_BODY | {"via": "put"}
            slots.append(((await client.post(f"{app}/api/v1/documents/slots", json=body, headers=auth)).json(), auth))
        gate = asyncio.Semaphore(20)

        async def put(created: dict[str, Any]) -> None:
            async with gate:
                (await client.put(created["upload"]["url"], content=data,
                                  headers=created["upload"]["headers"])).raise_for_status()

        async def confirm(created: dict[str, Any], auth: dict[str, str]) -> None:
            async with gate:
                document_id = created["document"]["id"]
                (await client.post(f"{app}/api/v1/documents/{document_id}/confirm", headers=auth)).raise_for_status()

        with RssSampler(pid) as uploads:
            await asyncio.gather(*(put(created) for created, _ in slots))
        with RssSampler(pid) as confirms:
            await asyncio.gather(*(confirm(created, auth) for created, auth in slots))
    grow_up = max(uploads.samples) - uploads.samples[0]
    grow_confirm = max(confirms.samples) - uploads.samples[0]
    ok = grow_up < RSS_GROWTH_UPLOADS_MB and grow_confirm < RSS_GROWTH_CONFIRMS_MB
    print(f"\ndocuments/memory: API RSS while {files} files of 2 MB ({files * 2} MB) go straight to S3, 20 at a time")
    print(f"  uploads:  {uploads.samples[0]:.1f} MB at start, max {max(uploads.samples):.1f} MB"
          f" (+{grow_up:.1f}), {len(uploads.samples)} samples")
    print(f"  confirms: max {max(confirms.samples):.1f} MB (+{grow_confirm:.1f}), end {confirms.samples[-1]:.1f} MB")
    print(f"  — {'meets' if ok else 'MISSES'} the target (+< {RSS_GROWTH_UPLOADS_MB:.0f} MB during uploads,"
          f" +< {RSS_GROWTH_CONFIRMS_MB:.0f} MB while confirming)")
    return ok


def run_documents(app: str, bare: str, sim: str, app_pid: int, workdir: Path, *, rounds: int, seconds: int) -> bool:
    tokens = sign_in(app, sim, USERS)
    slots_ok = bench_slots(app, bare, tokens[0], slots_script(workdir, tokens), rounds=rounds, seconds=seconds)
    memory_ok = asyncio.run(memory_while_uploading(app, tokens, app_pid))
    confirm_ok = asyncio.run(confirm_latency(app, tokens))
    return slots_ok and memory_ok and confirm_ok
