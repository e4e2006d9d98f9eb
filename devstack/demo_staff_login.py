"""`python -m devstack.demo_staff_login USERNAME`: sign in as a demo staff member of the local stack.

Does what the staff member would: posts username and password (the demo password unless `--password`), reads
the second-factor SMS code from the SMS simulator's inbox for their mobile (the Celery worker delivers it within
a second or two), and submits it. Prints the staff account and an access token. Talks HTTP only, like a client.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import httpx

from config.settings import get_settings
from devstack.demo_seed import DEMO_PASSWORD, DEMO_STAFF


def login(username: str, api: str, sim: str, *, password: str = DEMO_PASSWORD, wait_s: float = 20) -> dict[str, object]:
    demo = {d.username: d for d in DEMO_STAFF}
    phone = demo[username].phone if username in demo else None
    with httpx.Client(timeout=10) as client:
        seen = len(_inbox(client, sim, phone)) if phone else 0
        start = client.post(f"{api}/api/v1/staff/login", json={"username": username, "password": password})
        if start.status_code != 202:
            raise SystemExit(f"password step failed: {start.text}")
        if phone is None:
            raise SystemExit("not a demo account: read the code from the SMS simulator yourself (docs/simulators.md)")
        deadline = time.monotonic() + wait_s
        while len(messages := _inbox(client, sim, phone)) <= seen:
            if time.monotonic() > deadline:
                raise SystemExit("no SMS arrived: is the Celery worker running (./dev run starts one)?")
            time.sleep(0.2)
        code = messages[0]["params"]["code"]
        verified = client.post(f"{api}/api/v1/staff/login/verify", json={"ticket": start.json()["ticket"], "code": code},
                               headers={"X-Device-Name": "devstack.demo_staff_login"})
        if verified.status_code != 200:
            raise SystemExit(f"SMS step failed: {verified.text}")
        return verified.json()


def _inbox(client: httpx.Client, sim: str, phone: str | None) -> list[dict[str, object]]:
    response = client.get(f"{sim}/_sim/sms/messages", params={"phone": phone})
    response.raise_for_status()
    return response.json()["messages"]


def main() -> None:
    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("username", choices=[d.username for d in DEMO_STAFF])
    parser.add_argument("--api", default=settings.base_url)
    parser.add_argument("--sim", default=settings.sim_base_url)
    args = parser.parse_args()
    tokens = login(args.username, args.api.rstrip("/"), args.sim.rstrip("/"))
    json.dump({"staff": tokens["staff"], "access_token": tokens["access_token"],
               "refresh_token": tokens["refresh_token"]}, sys.stdout, ensure_ascii=False, indent=2)
    print()
    # the hint on stderr, so `… demo_staff_login USER | jq -r .access_token` reads one JSON document
    print(f"\ncurl -s {args.api}/api/v1/staff/me -H 'Authorization: Bearer {tokens['access_token']}'", file=sys.stderr)


if __name__ == "__main__":
    main()
