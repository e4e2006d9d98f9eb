"""A real Celery worker in a subprocess, on the session's servers (see the `celery_worker` fixture)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass
class CeleryWorker:
    process: subprocess.Popen[bytes]
    log_path: Path

    @classmethod
    def start(cls, env: dict[str, str], log_path: Path) -> CeleryWorker:
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "notifications.celery_app", "worker", "--pool", "solo",
                 "-Q", "urgent,default,bulk", "--without-gossip", "--without-mingle", "--without-heartbeat",
                 "--loglevel", "INFO"],
                env=env, stdout=log, stderr=subprocess.STDOUT,
            )
        return cls(process, log_path)

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
