"""One settings object for every process (API, simulators, Celery, devstack), read from `ZSB_*` variables.

The embedded defaults run the local stack of `./dev run`; production must override every secret, and
`check_production_safety` refuses to start otherwise.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
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

    mongodb_uri: str = "mongodb://127.0.0.1:27817/?retryWrites=false&maxPoolSize=10"
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

    # -- working-day clock (affairs/workdays.py, docs/working-days.md) ----------------------------------------
    # Public holidays come from the chinese-calendar package and affairs/data/holidays.toml; this optional TOML
    # file (same format) overrides both day by day, e.g. with a year announced after the last release. A bad
    # file stops start-up with every problem listed.
    holidays_file: Path | None = Field(None, description="extra holiday file (TOML), see docs/working-days.md")

    # -- ratings of service (好差评, affairs/ratings.py, docs/ratings.md) --------------------------------------
    rating_window_days: int = Field(30, ge=1, le=365, description="days after a case ended in which it may be rated")

    # -- documents (storage/, docs/documents.md): per-person limits on upload slots, and the clean-up job ------
    # A person's open documents (pending slots + checked ones not attached to a case) are capped in number and
    # bytes; slots are rate-limited per person (a rolling hour, `limits` on Redis).
    document_quota_count: int = Field(100, ge=1, description="open (pending or unattached) documents per person")
    document_quota_bytes: int = Field(500 * 1024 * 1024, ge=1024 * 1024, description="their total bytes")
    document_slots_per_hour: int = Field(60, ge=1, description="upload slots per person per rolling hour")
    document_pending_ttl_h: int = Field(24, ge=1, description="clean-up deletes slots never confirmed after this")
    document_unattached_ttl_days: int = Field(30, ge=1, description="… and checked documents never attached")
    document_cleanup_dry_run: bool = Field(False, description="the beat job only reports what it would delete")

    # -- WeChat Pay API v3, public-key mode (payments/wechatpay.py; locally the simulator at /wechatpay) -------
    # Requests are signed with the merchant API private key (its certificate serial goes in the header); answers
    # and callbacks are checked with the WeChat Pay public key (id PUB_KEY_ID_…). Keys: PEM (newlines may be
    # `\n`) or one line of base64 DER. `./dev run` generates development pairs into var/dev.env and the tests one
    # set per session (devstack/payment_keys.py); no key is ever committed, so these defaults are empty.
    wechatpay_base_url: str = Field("http://127.0.0.1:8090/wechatpay",
                                    description="https://api.mch.weixin.qq.com in production")
    wechatpay_mchid: str = "1900000109"
    wechatpay_appid: str = Field("wxd0000000000000mp", description="the app paying (the mini-program)")
    wechatpay_merchant_serial: str = Field("3775B6A45ACD588826D15E583A95F5DD0AAB2F07",
                                           description="serial number of the merchant API certificate")
    wechatpay_merchant_private_key: SecretStr = SecretStr("")
    wechatpay_platform_public_key: str = ""
    wechatpay_platform_public_key_id: str = "PUB_KEY_ID_0119000001092025112500000000000001"
    wechatpay_apiv3_key: SecretStr = Field(SecretStr("zsb-dev-apiv3-key-change-me-0001"),
                                           description="32 bytes: decrypts callbacks (AES-256-GCM)")
    wechatpay_notify_url: str = "http://127.0.0.1:8080/api/v1/payments/wechatpay/notify"
    wechatpay_timeout_s: float = Field(10.0, gt=0, le=60, description="per request (connect within 5 s)")

    # -- Alipay open platform (payments/alipay.py; official SDK in a thread pool; locally the simulator) ------
    # The gateway is `{alipay_base_url}/gateway.do`. RSA2: our app private key signs, the Alipay public key
    # verifies answers and notifies. Same key formats and generation as WeChat Pay above.
    alipay_base_url: str = Field("http://127.0.0.1:8090/alipay", description="https://openapi.alipay.com in production")
    alipay_app_id: str = "2021000000000001"
    alipay_app_private_key: SecretStr = SecretStr("")
    alipay_public_key: str = ""
    alipay_seller_id: str = Field("2088000000000001", description="our PID (2088…): notifies must name it")
    alipay_notify_url: str = "http://127.0.0.1:8080/api/v1/payments/alipay/notify"
    alipay_timeout_s: float = Field(15.0, gt=0, le=60, description="per gateway call (connect and read)")

    # -- payment orders (payments/orders.py, payments/order_sweep.py) --------------------------------------------
    payment_order_ttl_min: int = Field(30, ge=5, le=120, description="an unpaid order expires (also at the provider)")
    payment_query_after_min: int = Field(5, ge=1, le=60, description="beat queries orders still open after this")
    payment_sweep_interval_s: float = Field(60.0, ge=5, description="beat: the payment order sweep")
    refund_query_after_min: int = Field(5, ge=1, le=1440,
                                        description="beat queries refunds still processing this long after sending")

    # -- e-receipts (payments/receipts.py): HMAC keys of the verification code printed with its QR code.
    # Comma-separated, each >= 16 characters; the FIRST signs new receipts, all verify (keep old keys as long as
    # receipts signed with them may be checked). The QR points at ZSB_PUBLIC_BASE_URL. Production refuses the default.
    receipt_code_keys: SecretStr = Field(SecretStr("zsb-dev-receipt-code-key-change-me"), min_length=16)

    # -- payment simulators only: the providers' own private keys, and how fast simulated time runs ------------
    sim_wechatpay_platform_private_key: str = Field("", repr=False)
    sim_alipay_private_key: str = Field("", repr=False)
    sim_notify_time_scale: float = Field(0.01, gt=0, le=1, description="callback retry delays × this")

    # -- notifications (notifications/, docs/notifications.md): outbox relay, delivery, retries, quiet hours -----
    notify_quiet_hours: str = Field("22:00-08:00", pattern=r"^(\d{2}:\d{2}-\d{2}:\d{2})?$",
                                    description="Asia/Shanghai; non-urgent messages wait; empty: no quiet hours")
    notify_relay_poll_s: float = Field(2.0, gt=0, le=60, description="outbox poll when no change wakes the relay")
    notify_relay_batch: int = Field(500, ge=1, le=5000, description="events published per round")
    notify_send_concurrency: int = Field(8, ge=1, le=64, description="sends in flight per worker task")
    notify_retry_base_s: float = Field(5.0, gt=0, description="first retry waits about this long")
    notify_retry_max_s: float = Field(600.0, gt=0, description="no retry waits longer")
    notify_max_attempts: int = Field(10, ge=1, le=30, description="tries per message before technical-failure")
    notify_lease_s: float = Field(120.0, gt=0, description="a send not finished by then is presumed dead")
    notify_requeue_after_s: float = Field(600.0, gt=0, description="a queued task not run by then is queued again")
    notify_sweep_interval_s: float = Field(30.0, gt=0, description="beat: release, requeue and time-out sweep")
    notify_unconfirmed_after_s: int = Field(72 * 3600, ge=1, description="sent, no report → temporary-failure")
    notify_sms_providers: str = Field("aliyun", pattern=r"^[a-z]+(,[a-z]+)*$",
                                      description="SMS providers in failover order, e.g. aliyun,tencent")

    # -- SMS through Tencent Cloud, the second provider (notifications/channels/tencent_sms.py): official SDK,
    # TC3-HMAC-SHA256, synchronous, so Celery worker only. Like Aliyun's, the SDK takes `host:port` (no path);
    # locally the simulators' root, where `POST /` is told apart by its `X-TC-Action` header.
    sms_tencent_endpoint: str = Field("127.0.0.1:8090", description="sms.tencentcloudapi.com in production")
    sms_tencent_protocol: Literal["http", "https"] = Field("http", description="https in production")
    sms_tencent_region: str = Field("ap-guangzhou", description="X-TC-Region of SendSms")
    sms_tencent_secret_id: str = Field("AKIDzsbDevTencentSms", description="SecretId of the API key (not a secret)")
    sms_tencent_secret_key: SecretStr = SecretStr("zsb-dev-tencent-sms-secret-key-change-me")
    sms_tencent_sdk_app_id: str = Field("1400000001", description="SmsSdkAppId of the SMS application")
    sms_tencent_sign_name: str = Field("掌上办", description="approved sign name (签名) at Tencent")
    sms_tencent_templates: dict[str, str] = Field(
        {"login_code": "1000001:code"},
        description="logical template -> `TemplateId:param1,param2` (Tencent's parameters are positional)",
    )

    # -- SMS simulators only: delivery reports in each provider's own format, posted after a delay ---------------
    sim_sms_aliyun_report_url: str = Field("", description="where the Aliyun simulator posts SmsReport; empty: none")
    sim_sms_tencent_report_url: str = Field("", description="where the Tencent simulator posts its status callback")
    sim_sms_report_delay_ms: int = Field(200, ge=0, le=600_000, description="from the send to its report")

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
    if settings.sms_tencent_protocol != "https":  # the body carries phone numbers and login codes
        offending.append("ZSB_SMS_TENCENT_PROTOCOL")
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
