"""Command lines and readiness checks of the local servers, and a small runner used by tests and benchmarks."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from devstack.payment_keys import new_payment_keys

BIN = Path(sys.executable).parent  # the virtualenv's bin/, where pip put secantusd-py and weed


def mongodb_command(port: int, storage: str) -> list[str]:
    """SecantusDB through devstack/secantusd.py (`secantusd-py` with a fix to its planner; see there)."""
    return [sys.executable, "-m", "devstack.secantusd", "--host", "127.0.0.1", "--port", str(port),
            "--storage-path", storage, "--log-level", "WARNING"]


def redis_command(port: int) -> list[str]:
    server = shutil.which("redis-server") or "/usr/bin/redis-server"
    return [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--loglevel", "warning"]


def s3_ports(s3_port: int) -> dict[str, int]:
    """SeaweedFS roles sit just below the S3 port: master, volume, filer, s3, admin (+10000 for gRPC each)."""
    return {"master": s3_port - 3, "volume": s3_port - 2, "filer": s3_port - 1, "s3": s3_port, "admin": s3_port + 1}


def s3_command(s3_port: int, data_dir: Path, config: Path) -> list[str]:
    ports = s3_ports(s3_port)
    return [
        str(BIN / "weed"), "mini", f"-dir={data_dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-master.port={ports['master']}", f"-volume.port={ports['volume']}", f"-filer.port={ports['filer']}",
        f"-s3.port={ports['s3']}", f"-s3.config={config}", "-webdav=false", "-admin.ui=false",
        f"-admin.port={ports['admin']}", "-s3.port.iceberg=0", "-s3.port.lance=0",
    ]


def write_s3_config(path: Path, access_key: str, secret_key: str) -> None:
    """SeaweedFS identities file: with it SigV4 is enforced (forged or expired URLs are refused)."""
    identity = {"name": "app", "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"]}
    path.write_text(json.dumps({"identities": [identity]}))
    path.chmod(0o600)


def new_s3_keys() -> tuple[str, str]:
    return "ZSB" + secrets.token_hex(8).upper(), secrets.token_urlsafe(30)


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_s3_port() -> int:
    """An S3 port whose SeaweedFS neighbours and their gRPC ports (+10000) are all free."""
    rng = secrets.SystemRandom()
    for _ in range(200):
        port = rng.randrange(20010, 30000)
        wanted = list(s3_ports(port).values())
        if all(port_is_free(p) and port_is_free(p + 10000) for p in wanted):
            return port
    raise RuntimeError("no free port block for SeaweedFS")


def wait_for_port(port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    def stop(self, timeout: float = 10) -> None:
        if self.popen.poll() is not None:
            return
        os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)


def spawn(name: str, cmd: list[str], workdir: Path, env: dict[str, str] | None = None) -> Process:
    """Start a server in its own process group with output to `workdir/<name>.log`."""
    log_path = workdir / f"{name}.log"
    log_file = log_path.open("ab")
    popen = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT, cwd=workdir,
                             start_new_session=True, env=env)
    log_file.close()
    return Process(name, popen, log_path)


@dataclass
class LocalStack:
    """MongoDB, Redis and S3 on free ports with throw-away data: for tests and benchmarks."""

    workdir: Path
    mongodb_port: int = field(default_factory=free_port)
    redis_port: int = field(default_factory=free_port)
    s3_port: int = field(default_factory=free_s3_port)
    s3_keys: tuple[str, str] = field(default_factory=new_s3_keys)
    sim_port: int = field(default_factory=free_port)  # for whoever runs the simulators against this stack
    payment_keys: dict[str, str] = field(default_factory=new_payment_keys)  # WeChat Pay / Alipay RSA pairs
    processes: dict[str, Process] = field(default_factory=dict)

    def start(self) -> LocalStack:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "s3").mkdir(exist_ok=True)
        write_s3_config(self.workdir / "s3.json", *self.s3_keys)
        self.processes["mongodb"] = spawn("mongodb", mongodb_command(self.mongodb_port, ":memory:"), self.workdir)
        self.processes["redis"] = spawn("redis", redis_command(self.redis_port), self.workdir)
        self.processes["s3"] = spawn(
            "s3", s3_command(self.s3_port, self.workdir / "s3", self.workdir / "s3.json"), self.workdir
        )
        try:
            for name, port in (("redis", self.redis_port), ("mongodb", self.mongodb_port), ("s3", self.s3_port)):
                wait_for_port(port, 30, self.processes[name].popen)
        except Exception:
            self.stop()
            raise
        return self

    def stop_one(self, name: str) -> None:
        self.processes[name].stop()

    def restart_redis(self) -> None:
        self.processes["redis"] = spawn("redis", redis_command(self.redis_port), self.workdir)
        wait_for_port(self.redis_port, 10, self.processes["redis"].popen)

    def stop(self) -> None:
        for proc in reversed(list(self.processes.values())):
            proc.stop()

    def env(self) -> dict[str, str]:
        """The `ZSB_*` variables that point a process at this stack."""
        access, secret = self.s3_keys
        return {
            "ZSB_MONGODB_URI": f"mongodb://127.0.0.1:{self.mongodb_port}/?retryWrites=false&maxPoolSize=10",
            "ZSB_REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "ZSB_S3_ENDPOINT": f"http://127.0.0.1:{self.s3_port}",
            "ZSB_S3_ACCESS_KEY": access,
            "ZSB_S3_SECRET_KEY": secret,
            **self.payment_keys,
        }
