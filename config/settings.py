"""One settings object for every process (API, simulators, Celery, devstack), read from `ZSB_*` variables.

The embedded defaults run the local stack of `./dev run`; production must override every secret, and
`check_production_safety` refuses to start otherwise.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["dev", "test", "production"]


class InsecureSettingsError(RuntimeError):
    """Raised at start-up when production would run with a development default."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZSB_", extra="ignore", frozen=True)

    env: Environment = "dev"
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    public_base_url: str = Field("", description="URL residents' phones reach; defaults to http://host:port")
    trust_proxy_headers: bool = Field(
        False, description="Take the client IP from X-Forwarded-For/X-Real-Ip: only behind our own reverse proxy"
    )

    sim_host: str = "127.0.0.1"
    sim_port: int = Field(8090, ge=0, le=65535)

    mongodb_uri: str = "mongodb://127.0.0.1:27817/?retryWrites=false"
    mongodb_db: str = "zsb"
    mongodb_server_selection_timeout_ms: int = 3000

    redis_url: str = "redis://127.0.0.1:6390/0"

    s3_endpoint: str = "http://127.0.0.1:9436"
    s3_region: str = "us-east-1"
    s3_access_key: str = "zsb-dev-access-key"
    s3_secret_key: SecretStr = SecretStr("zsb-dev-secret-key-change-me")
    s3_bucket_documents: str = "zsb-documents"

    max_json_body_bytes: int = Field(1_048_576, ge=1024)
    max_json_depth: int = Field(32, ge=2, le=256)
    dependency_check_timeout_s: float = Field(1.5, gt=0, le=10)
    drain_timeout_s: float = Field(10.0, ge=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # -- personal data protection ---------------------------------------------------------------------------
    # Citizen ID and phone numbers are AES-256-GCM encrypted at rest and found via an HMAC blind index
    # (core/pii.py, built by config/pii.py). Keyring format `kid:base64(32 bytes),…`; the FIRST entry is the
    # current key, later ones only decrypt (rotation). The index key is separate: base64 of >= 32 bytes.
    # The defaults are public development keys; production refuses them (check_production_safety).
    pii_encryption_keys: SecretStr = SecretStr("dev1:enNiLWRldi1waWkta2V5LWRvLW5vdC11c2UtcHJvZCE=")
    pii_index_key: SecretStr = SecretStr("enNiLWRldi1ibGluZC1pbmRleC1rZXktbm90LXByb2Q=")

    # -- WeChat (mini-program and official account; locally both hosts are the simulator) ---------------------
    wechat_api_base_url: str = Field(
        "http://127.0.0.1:8090/wechat", description="api.weixin.qq.com in production: https://api.weixin.qq.com"
    )
    wechat_open_base_url: str = Field(
        "http://127.0.0.1:8090/wechat", description="OAuth authorize host: https://open.weixin.qq.com in production"
    )
    wechat_mp_appid: str = "wxd0000000000000mp"
    wechat_mp_secret: SecretStr = SecretStr("zsb-dev-wechat-mp-secret-change-me")
    wechat_oa_appid: str = "wxd0000000000000oa"
    wechat_oa_secret: SecretStr = SecretStr("zsb-dev-wechat-oa-secret-change-me")
    wechat_timeout_s: float = Field(5.0, gt=0, le=60, description="per request to WeChat, connect included")

    # -- population base (人口库): real-name verification, docs/population-base.md; locally the simulator ------
    population_base_url: str = "http://127.0.0.1:8090/population"
    population_app_id: str = "zsb-dev"
    population_secret: SecretStr = SecretStr("zsb-dev-population-secret-change-me")
    population_timeout_s: float = Field(3.0, gt=0, le=30, description="per attempt; one retry on timeout/503")

    # -- tokens ---------------------------------------------------------------------------------------------
    # Access tokens are EdDSA (Ed25519) JWTs (accounts/tokens.py); refresh tokens are opaque and rotated
    # (accounts/sessions.py). Signing keyring `kid:<key>,…`, key = base64 of a PKCS#8 DER Ed25519 private key
    # or its PEM with newlines written as `\n`; the FIRST entry signs, later ones only verify (rotation).
    # New entry: `python -m accounts.jwt_keys <kid>`. The default is a public development key.
    jwt_signing_keys: SecretStr = SecretStr(
        "dev1:MC4CAQAwBQYDK2VwBCIEIHjvbRsKzv3NvpwCd2kJFSla6CUUaWK5a28Mm4hbvFoE"
    )
    jwt_issuer: str = "zsb"
    jwt_audience: str = "zsb-mobile"
    access_token_ttl_s: int = Field(900, ge=60, le=86_400)
    refresh_token_ttl_s: int = Field(30 * 86_400, ge=300, le=365 * 86_400)
    jwt_leeway_s: int = Field(30, ge=0, le=300, description="clock skew tolerated on exp/nbf/iat")

    # -- SMS ------------------------------------------------------------------------------------------------
    # Login codes (accounts/sms_codes.py) are sent by the Celery worker through Aliyun's official SDK
    # (notifications/channels/aliyun_sms.py). The SDK takes `host:port` only (no path), so locally the endpoint
    # is the simulators' root, where `POST /` is told apart by its `x-acs-action` header.
    sms_aliyun_endpoint: str = Field("127.0.0.1:8090", description="dysmsapi.aliyuncs.com in production")
    sms_aliyun_protocol: Literal["http", "https"] = Field("http", description="https in production")
    sms_aliyun_access_key_id: str = "zsb-dev-aliyun-sms-ak"
    sms_aliyun_access_key_secret: SecretStr = SecretStr("zsb-dev-aliyun-sms-secret-change-me")
    sms_sign_name: str = "掌上办"
    sms_template_login: str = Field("SMS_000001", description="verification-code template, one variable ${code}")
    sms_timeout_s: float = Field(5.0, gt=0, le=30, description="per SendSms call (connect and read)")
    # HMAC key for login codes at rest and for the phone/IP references in Redis keys (never stored in clear).
    sms_code_key: SecretStr = Field(SecretStr("zsb-dev-sms-code-key-change-me"), min_length=16)
    sms_daily_limit_per_phone: int = Field(10, ge=1, le=100)
    sms_daily_limit_per_ip: int = Field(50, ge=1, description="raise it for offices behind one NAT address")

    # -- derived -------------------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return self.public_base_url.rstrip("/") or f"http://{self.host}:{self.port}"

    @property
    def sim_base_url(self) -> str:
        return f"http://{self.sim_host}:{self.sim_port}"

    @property
    def s3_secure(self) -> bool:
        return urlsplit(self.s3_endpoint).scheme == "https"

    @property
    def s3_netloc(self) -> str:
        return urlsplit(self.s3_endpoint).netloc


def check_production_safety(settings: Settings) -> None:
    """Refuse to start in production while any secret still has its embedded development value, or while a
    provider's address still points at the local simulators (payments and logins would go nowhere real)."""
    if settings.env != "production":
        return
    defaults = Settings.model_fields
    simulator = f"{settings.sim_host}:{settings.sim_port}"
    simulated = [
        f"ZSB_{name.upper()}"
        for name in defaults
        if name.endswith(("_base_url", "_endpoint")) and simulator in str(getattr(settings, name))
    ]
    offending = [
        f"ZSB_{name.upper()}"
        for name, field in defaults.items()
        if isinstance(field.default, SecretStr)
        and getattr(settings, name).get_secret_value() == field.default.get_secret_value()
    ]
    if settings.s3_access_key == defaults["s3_access_key"].default:
        offending.append("ZSB_S3_ACCESS_KEY")
    if settings.sms_aliyun_protocol != "https":  # the query string carries phone numbers and login codes
        offending.append("ZSB_SMS_ALIYUN_PROTOCOL")
    problems = []
    if offending:
        problems.append("development defaults for: " + ", ".join(sorted(offending)))
    if simulated:
        problems.append("addresses of the local simulators for: " + ", ".join(sorted(simulated)))
    if problems:
        raise InsecureSettingsError("production mode refuses " + "; and ".join(problems))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
