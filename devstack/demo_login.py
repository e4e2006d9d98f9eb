"""`python -m devstack.demo_login KEY`: sign in as a demo person of the local stack and print an access token.

Does what the person's phone would: asks the WeChat simulator for a mini-program login code (the unionid
`demo-KEY` makes it the same WeChat user every time), logs in through the API, and binds the person's citizen ID
(verified against the population-base simulator) unless it is bound already. KEY is one of the demo people
listed by `GET /_sim/population/people` (e.g. wang-fang, chen-zhiqiang). Talks HTTP only, like a client.
"""

from __future__ import annotations

import argparse
import json
import sys

import httpx

from config.settings import get_settings
from simulators.demo_people import DEMO_PEOPLE, by_key


def login(key: str, api: str, sim: str) -> dict[str, object]:
    person = by_key(key)
    with httpx.Client(timeout=10) as client:
        minted = client.post(f"{sim}/_sim/wechat/codes", json={"app": "miniprogram", "unionid": f"demo-{key}"})
        minted.raise_for_status()
        logged_in = client.post(f"{api}/api/v1/auth/miniprogram/login", json={"code": minted.json()["code"]},
                                headers={"X-Device-Name": "devstack.demo_login"})
        if logged_in.status_code != 200:
            raise SystemExit(f"login failed: {logged_in.text}")
        tokens = logged_in.json()
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
        if tokens["person"]["citizen_id"] is None:
            bound = client.put(f"{api}/api/v1/me/citizen-id", headers=auth,
                               json={"name": person.name, "id_number": person.id_number})
            if bound.status_code != 200:
                raise SystemExit(f"citizen-ID binding failed: {bound.text}")
            tokens["person"] = bound.json()
        return tokens


def main() -> None:
    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("key", choices=[p.key for p in DEMO_PEOPLE if p.role != "staff"])
    parser.add_argument("--api", default=settings.base_url)
    parser.add_argument("--sim", default=settings.sim_base_url)
    args = parser.parse_args()
    tokens = login(args.key, args.api.rstrip("/"), args.sim.rstrip("/"))
    person = tokens["person"]
    json.dump({"person": person, "access_token": tokens["access_token"],
               "refresh_token": tokens["refresh_token"]}, sys.stdout, ensure_ascii=False, indent=2)
    print()
    # the hint on stderr, so `… demo_login KEY | jq -r .access_token` reads one JSON document
    print(f"\ncurl -s {args.api}/api/v1/me -H 'Authorization: Bearer {tokens['access_token']}'", file=sys.stderr)


if __name__ == "__main__":
    main()
