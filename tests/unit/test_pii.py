import base64

import pytest
from pydantic import SecretStr

from config.pii import pii_from_settings
from config.settings import InsecureSettingsError, Settings, check_production_safety
from core.pii import (
    BlindIndex,
    FieldCipher,
    PiiDecryptError,
    normalise_id_number,
    normalise_phone,
    parse_index_key,
    parse_keyring,
)

KEY_A = bytes(range(32))
KEY_B = bytes(range(100, 132))
INDEX_KEY = b"i" * 32
ID_CONTEXT = "person.id_number"


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def flip(text: str, position: int) -> str:
    replacement = "A" if text[position] != "A" else "B"
    return text[:position] + replacement + text[position + 1 :]


# -- FieldCipher -------------------------------------------------------------------------------------------
def test_round_trip_and_token_shape() -> None:
    cipher = FieldCipher({"k1": KEY_A}, "k1")
    token = cipher.encrypt("11010119900307777X", context=ID_CONTEXT)
    version, kid, nonce, sealed = token.split(".")
    assert (version, kid) == ("v1", "k1")
    assert len(base64.urlsafe_b64decode(nonce + "==")) == 12
    assert len(base64.urlsafe_b64decode(sealed + "==")) == 18 + 16  # ciphertext + GCM tag
    assert "1101" not in token
    assert cipher.decrypt(token, context=ID_CONTEXT) == "11010119900307777X"
    assert cipher.decrypt(cipher.encrypt("张三 ", context="person.name"), context="person.name") == "张三 "


def test_fresh_nonce_per_encryption() -> None:
    cipher = FieldCipher({"k1": KEY_A}, "k1")
    tokens = {cipher.encrypt("13812345678", context="person.phone") for _ in range(20)}
    assert len(tokens) == 20


def test_rotation_keeps_old_tokens_readable() -> None:
    old = FieldCipher({"k0": KEY_A}, "k0")
    old_token = old.encrypt("13812345678", context="person.phone")
    rotated = FieldCipher({"k1": KEY_B, "k0": KEY_A}, "k1")
    assert rotated.decrypt(old_token, context="person.phone") == "13812345678"
    new_token = rotated.encrypt("13812345678", context="person.phone")
    assert new_token.split(".")[1] == "k1"
    assert rotated.needs_reencryption(old_token) and not rotated.needs_reencryption(new_token)
    with pytest.raises(PiiDecryptError, match="unknown key id 'k1'"):
        old.decrypt(new_token, context="person.phone")


@pytest.mark.parametrize("part", [2, 3])
def test_any_flipped_character_is_detected(part: int) -> None:
    cipher = FieldCipher({"k1": KEY_A}, "k1")
    token = cipher.encrypt(
        "11010119900307777X", context=ID_CONTEXT
    )  # 34 sealed bytes: last char has spare bits
    parts = token.split(".")
    for position in range(len(parts[part])):  # every character, including the last one
        tampered = parts.copy()
        tampered[part] = flip(parts[part], position)
        with pytest.raises(PiiDecryptError):
            cipher.decrypt(".".join(tampered), context=ID_CONTEXT)


def test_wrong_context_does_not_decrypt() -> None:
    cipher = FieldCipher({"k1": KEY_A}, "k1")
    token = cipher.encrypt("13812345678", context="person.phone")
    with pytest.raises(PiiDecryptError, match="person.id_number"):
        cipher.decrypt(token, context="person.id_number")


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("garbage", "4 dot-separated parts"),
        ("v2.k1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA", "version 'v2'"),
        ("v1.k9.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA", "unknown key id 'k9'"),
        ("v1.k1.AAAA.AAAAAAAAAAAAAAAAAAAAAA", "nonce or ciphertext length"),
        ("v1.k1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA", "failed authentication"),
        ("v1.k1.AAAAAAAAAAAAAAA*.AAAAAAAAAAAAAAAAAAAAAA", "base64url"),
    ],
)
def test_malformed_tokens(token: str, message: str) -> None:
    with pytest.raises(PiiDecryptError, match=message):
        FieldCipher({"k1": KEY_A}, "k1").decrypt(token, context="person.phone")


def test_cipher_construction_errors() -> None:
    with pytest.raises(ValueError, match="not in the keyring"):
        FieldCipher({"k1": KEY_A}, "k2")
    with pytest.raises(ValueError, match="32 bytes"):
        FieldCipher({"k1": b"short"}, "k1")
    with pytest.raises(ValueError, match="key id"):
        FieldCipher({"k.1": KEY_A}, "k.1")
    with pytest.raises(ValueError, match="context"):
        FieldCipher({"k1": KEY_A}, "k1").encrypt("x", context="Person|phone")


# -- BlindIndex --------------------------------------------------------------------------------------------
def test_blind_index_is_deterministic_hex() -> None:
    index = BlindIndex(INDEX_KEY)
    digest = index.id_number("11010119900307777X")
    assert digest == index.id_number("11010119900307777X")
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert digest != index.id_number("110101199003077774")
    assert BlindIndex(b"j" * 32).id_number("11010119900307777X") != digest  # keyed, not a plain hash


def test_blind_index_normalises() -> None:
    index = BlindIndex(INDEX_KEY)
    assert normalise_id_number(" 110101 19900307 777x ") == "11010119900307777X"
    assert normalise_id_number("１１０１０１１９９００３０７７７７ｘ") == "11010119900307777X"
    assert index.id_number(" 110101 19900307 777x ") == index.id_number("11010119900307777X")
    assert normalise_phone("138 1234 5678") == normalise_phone("+86 138-1234-5678") == "+8613812345678"
    assert index.phone("8613812345678") == index.phone("+8613812345678") == index.phone("13812345678")
    with pytest.raises(ValueError, match="not a phone number"):
        normalise_phone("phone")


def test_blind_index_separates_domains() -> None:
    index = BlindIndex(INDEX_KEY)
    assert index.phone("13812345678") != index.phone("13812345678", domain="staff.phone")
    assert index.compute("abc", domain="a.b") != index.compute("abc", domain="a.c")
    with pytest.raises(ValueError, match="at least 32 bytes"):
        BlindIndex(b"short")


# -- settings ------------------------------------------------------------------------------------------------
def test_parse_keyring_first_entry_is_current() -> None:
    current, keyring = parse_keyring(f" k2:{b64(KEY_B)} , k1:{b64(KEY_A).rstrip('=')}")
    assert current == "k2"
    assert keyring == {"k2": KEY_B, "k1": KEY_A}
    urlsafe = base64.urlsafe_b64encode(b"\xff" * 32).decode()
    assert parse_keyring(f"u:{urlsafe}") == ("u", {"u": b"\xff" * 32})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "comma-separated"),
        (f"k1:{b64(KEY_A)},", "comma-separated"),
        (b64(KEY_A), "entry 1 must look like kid:base64key"),
        (f"k1:{b64(KEY_A)},k2:", "entry 2 must look like"),
        (f"bad kid:{b64(KEY_A)}", "entry 1: key id"),
        (f"k1:{b64(KEY_A)},k1:{b64(KEY_B)}", "twice"),
        ("k1:not*base64", "'k1' is not valid base64"),
        (f"k1:{b64(b'x' * 16)}", "must decode to 32 bytes, got 16"),
    ],
)
def test_parse_keyring_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_keyring(text)


def test_parse_index_key() -> None:
    assert parse_index_key(b64(INDEX_KEY)) == INDEX_KEY
    with pytest.raises(ValueError, match="at least 32 bytes"):
        parse_index_key(b64(b"x" * 31))


def test_production_refuses_default_pii_keys() -> None:
    with pytest.raises(InsecureSettingsError) as caught:
        check_production_safety(Settings(env="production"))
    assert "ZSB_PII_ENCRYPTION_KEYS" in str(caught.value) and "ZSB_PII_INDEX_KEY" in str(caught.value)


def test_pii_from_settings_dev_defaults_round_trip() -> None:
    cipher, index = pii_from_settings(Settings(_env_file=None))
    assert cipher.current_kid == "dev1"
    token = cipher.encrypt("13812345678", context="person.phone")
    assert cipher.decrypt(token, context="person.phone") == "13812345678"
    assert len(index.phone("13812345678")) == 64


def test_pii_from_settings_refuses_dev_key_in_production_keyring() -> None:
    dev_keys = Settings.model_fields["pii_encryption_keys"].default.get_secret_value()
    settings = Settings(
        env="production",
        pii_encryption_keys=SecretStr(f"prod1:{b64(KEY_A)},{dev_keys}"),
        pii_index_key=SecretStr(b64(INDEX_KEY)),
    )
    with pytest.raises(InsecureSettingsError, match="dev1"):
        pii_from_settings(settings)
    prod = Settings(
        env="production",
        pii_encryption_keys=SecretStr(f"prod1:{b64(KEY_A)}"),
        pii_index_key=SecretStr(b64(INDEX_KEY)),
    )
    assert pii_from_settings(prod)[0].key_ids == ("prod1",)


def test_pii_from_settings_refuses_index_key_equal_to_encryption_key() -> None:
    settings = Settings(
        pii_encryption_keys=SecretStr(f"k1:{b64(KEY_A)}"), pii_index_key=SecretStr(b64(KEY_A))
    )
    with pytest.raises(ValueError, match="must differ"):
        pii_from_settings(settings)
