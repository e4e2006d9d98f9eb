"""Builds the personal-data cipher and blind index from settings (core stays free of configuration)."""

from __future__ import annotations

import hmac

from config.settings import InsecureSettingsError, Settings
from core.pii import BlindIndex, FieldCipher, parse_index_key, parse_keyring

# The development keys are committed to the repository, so data under them is as good as public.
_DEV_KEYS = parse_keyring(Settings.model_fields["pii_encryption_keys"].default.get_secret_value())[1]


def pii_from_settings(settings: Settings) -> tuple[FieldCipher, BlindIndex]:
    """`(FieldCipher, BlindIndex)` for this process; call it at start-up so malformed keys fail fast.

    Raises ValueError for a malformed keyring / index key or an index key reused as an encryption key, and
    InsecureSettingsError when production still lists a development key anywhere in its keyring (the plain
    default is already refused by `check_production_safety`; this also catches `prod1:…,dev1:…`).
    """
    current, keyring = parse_keyring(settings.pii_encryption_keys.get_secret_value())
    index_key = parse_index_key(settings.pii_index_key.get_secret_value())
    if any(hmac.compare_digest(index_key, key) for key in keyring.values()):
        raise ValueError("ZSB_PII_INDEX_KEY must differ from every key in ZSB_PII_ENCRYPTION_KEYS")
    if settings.env == "production":
        leaked = sorted(kid for kid, key in keyring.items() if key in _DEV_KEYS.values())
        if leaked:
            raise InsecureSettingsError(
                "production mode refuses development PII keys in ZSB_PII_ENCRYPTION_KEYS: "
                + ", ".join(leaked)
            )
    return FieldCipher(keyring, current), BlindIndex(index_key)
