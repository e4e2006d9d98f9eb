import pytest
from pydantic import SecretStr

from config.settings import InsecureSettingsError, Settings, check_production_safety


def test_defaults_work_locally() -> None:
    settings = Settings(_env_file=None)
    assert settings.port == 8080 and settings.sim_port == 8090
    assert "retryWrites=false" in settings.mongodb_uri
    assert settings.redis_url.endswith(":6390/0")
    assert settings.s3_netloc == "127.0.0.1:9436" and not settings.s3_secure
    check_production_safety(settings)  # dev mode: defaults are fine


def test_env_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZSB_PORT", "9999")
    monkeypatch.setenv("ZSB_S3_ENDPOINT", "https://s3.example.gov.cn")
    settings = Settings()
    assert settings.port == 9999 and settings.s3_secure


def test_production_refuses_default_secrets() -> None:
    with pytest.raises(InsecureSettingsError) as caught:
        check_production_safety(Settings(env="production"))
    assert "ZSB_S3_SECRET_KEY" in str(caught.value) and "ZSB_S3_ACCESS_KEY" in str(caught.value)


# Real providers' addresses for every `*_base_url` / `*_endpoint` setting (the defaults point at the simulators).
REAL_ADDRESSES = {
    name: f"https://{name.replace('_', '-')}.example.gov.cn"
    for name in Settings.model_fields
    if name.endswith(("_base_url", "_endpoint"))
}


def test_production_refuses_simulator_addresses() -> None:
    with pytest.raises(InsecureSettingsError) as caught:
        check_production_safety(Settings(env="production", wechat_api_base_url="http://127.0.0.1:8090/wechat"))
    assert "ZSB_WECHAT_API_BASE_URL" in str(caught.value)


def test_production_starts_with_real_secrets() -> None:
    check_production_safety(
        Settings(
            env="production",
            **REAL_ADDRESSES,
            s3_access_key="prod-key",
            s3_secret_key=SecretStr("a-long-real-secret"),
            pii_encryption_keys=SecretStr("prod1:" + "cHBw" * 10 + "cHA="),  # base64 of 32 bytes
            pii_index_key=SecretStr("aWlp" * 10 + "aWk="),
            wechat_mp_secret=SecretStr("real-mini-program-secret"),
            wechat_oa_secret=SecretStr("real-official-account-secret"),
            jwt_signing_keys=SecretStr("prod1:MC4CAQAwBQYDK2VwBCIEINr6WDpkv+qFBO17aN7m43DzNhYpaudOsVvDQdI8MdVX"),
            population_secret=SecretStr("real-population-base-app-secret"),
            sms_aliyun_access_key_secret=SecretStr("real-aliyun-access-key-secret"),
            sms_aliyun_protocol="https",
            sms_tencent_secret_key=SecretStr("real-tencent-cloud-secret-key"),
            sms_tencent_protocol="https",
            sms_code_key=SecretStr("a-long-random-sms-code-key"),
            wechatpay_merchant_private_key=SecretStr("-----BEGIN PRIVATE KEY-----\\n(real merchant key)"),
            wechatpay_apiv3_key=SecretStr("a-real-32-byte-apiv3-key-0123456"),
            alipay_app_private_key=SecretStr("(real app private key, base64)"),
            receipt_code_keys=SecretStr("a-long-random-receipt-code-key"),
        )
    )
