"""`python -m devstack.serve mongodb|redis|s3`: exec one local server with the ports of the settings.

Used by the Procfile of `./dev run`; data lives under ./var/ (git-ignored) and survives restarts, except Redis,
which holds only short-lived data.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

from config.settings import get_settings
from devstack.servers import mongodb_command, redis_command, s3_command

VAR = Path("var")


def command(name: str) -> list[str]:
    settings = get_settings()
    if name == "mongodb":
        (VAR / "mongodb").mkdir(parents=True, exist_ok=True)
        port = urlsplit(settings.mongodb_uri).port or 27017
        return mongodb_command(port, str(VAR / "mongodb"))
    if name == "redis":
        return redis_command(urlsplit(settings.redis_url).port or 6379)
    if name == "s3":
        (VAR / "s3").mkdir(parents=True, exist_ok=True)
        return s3_command(urlsplit(settings.s3_endpoint).port or 9000, VAR / "s3", VAR / "s3.json")
    raise SystemExit(f"unknown server {name!r}: expected mongodb, redis or s3")


if __name__ == "__main__":
    cmd = command(sys.argv[1] if len(sys.argv) > 1 else "")
    os.execv(cmd[0], cmd)
