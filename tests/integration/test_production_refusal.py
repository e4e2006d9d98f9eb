"""Every process of the service refuses to start in production with development secrets, not only the API:
the Celery worker and beat, and the outbox relay (they hold the same keys)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

COMMANDS = {
    "worker": ["-m", "celery", "-A", "notifications.celery_app", "worker", "--without-gossip", "--without-mingle"],
    "beat": ["-m", "celery", "-A", "notifications.celery_app", "beat", "--schedule", os.devnull],
    "relay": ["-m", "notifications.relay"],
}


@pytest.mark.parametrize("process", sorted(COMMANDS))
def test_refuses_development_secrets_in_production(process: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZSB_")}
    env.update(ZSB_ENV="production", ZSB_REDIS_URL="redis://127.0.0.1:1/0",  # nothing listens: nothing consumed
               ZSB_MONGODB_URI="mongodb://127.0.0.1:1/?retryWrites=false&serverSelectionTimeoutMS=500")
    done = subprocess.run([sys.executable, *COMMANDS[process]], env=env, capture_output=True, text=True, timeout=90,
                          check=False)
    assert done.returncode != 0
    assert "production mode refuses development defaults for:" in done.stdout + done.stderr
    assert "ZSB_PII_ENCRYPTION_KEYS" in done.stdout + done.stderr
