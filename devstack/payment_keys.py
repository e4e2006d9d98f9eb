"""Development RSA key pairs for WeChat Pay and Alipay, generated like the S3 keys: once into var/dev.env for
`./dev run`, once per test session by LocalStack. Never committed.

Each pair is split between the side that signs and the side that verifies: our adapters get the merchant/app
private keys and the providers' public keys; the simulators get the providers' private keys (and derive our
public keys from our private keys, as if we had uploaded them to the providers' portals).
"""

from __future__ import annotations

from collections.abc import Mapping

from payments.keys import new_private_key, private_key_text, public_key_text

# (private-key variable, public-key variable or None): one generated pair per line.
PAIRS: tuple[tuple[str, str | None], ...] = (
    ("ZSB_WECHATPAY_MERCHANT_PRIVATE_KEY", None),
    ("ZSB_SIM_WECHATPAY_PLATFORM_PRIVATE_KEY", "ZSB_WECHATPAY_PLATFORM_PUBLIC_KEY"),
    ("ZSB_ALIPAY_APP_PRIVATE_KEY", None),
    ("ZSB_SIM_ALIPAY_PRIVATE_KEY", "ZSB_ALIPAY_PUBLIC_KEY"),
)


def missing_payment_keys(env: Mapping[str, str]) -> dict[str, str]:
    """New values for every pair not (completely) present in `env`; an empty dict when all are there."""
    added: dict[str, str] = {}
    for private_name, public_name in PAIRS:
        if env.get(private_name) and (public_name is None or env.get(public_name)):
            continue
        key = new_private_key()
        added[private_name] = private_key_text(key)
        if public_name is not None:
            added[public_name] = public_key_text(key.public_key())
    return added


def new_payment_keys() -> dict[str, str]:
    return missing_payment_keys({})
