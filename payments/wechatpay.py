"""`WeChatPayClient`: WeChat Pay API v3 (direct merchant, public-key mode) over `wechatpayv3`'s async client.

The SDK signs every request (merchant key + certificate serial) and checks the signature of every 2xx answer
with the WeChat Pay public key; it has no base-URL option, so the gateway it prefixes is set from settings
(`ZSB_WECHATPAY_BASE_URL`, the simulator locally). It returns `(status, text)` and never raises on 4xx/5xx: this
adapter maps those onto payments.errors, validates answers into payments.wechatpay_types, and never logs keys,
signatures or bodies. Callbacks are verified by payments.wechatpay_callback (the SDK's own check ignores the
timestamp); `verify_callback` is the entry point.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import httpx
import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from wechatpayv3.async_ import AsyncWeChatPay, WeChatPayType  # the async package has its own enum class

from payments import keys
from payments.errors import (
    BillUnavailable,
    PaymentProviderError,
    ProviderRejected,
    ProviderUnavailable,
    TradeNotFound,
)
from payments.wechatpay_bill import parse_trade_bill
from payments.wechatpay_callback import CallbackVerifier
from payments.wechatpay_types import Notice, Prepay, Refund, RequestPayment, TradeBill, Transaction

if TYPE_CHECKING:
    from config.settings import Settings

log = structlog.get_logger(__name__)
PROVIDER = "wechatpay"
UNAVAILABLE_CODES = frozenset({"SYSTEM_ERROR", "BANK_ERROR", "FREQUENCY_LIMITED"})
NOT_FOUND_CODES = frozenset({"ORDER_NOT_EXIST", "ORDERNOTEXIST", "RESOURCE_NOT_EXISTS"})


class PrepayRequest(BaseModel):
    model_config = ConfigDict(frozen=True, strict=True)

    out_trade_no: str = Field(pattern=r"^[0-9A-Za-z_\-|*]{6,32}$")
    description: str = Field(min_length=1, max_length=127)
    amount_fen: int = Field(gt=0, le=10**10)
    payer_openid: str = Field(min_length=1, max_length=128)
    expires_at: datetime | None = None
    attach: str | None = Field(None, max_length=128)


class RefundRequest(BaseModel):
    model_config = ConfigDict(frozen=True, strict=True)

    out_trade_no: str = Field(pattern=r"^[0-9A-Za-z_\-|*]{6,32}$")
    out_refund_no: str = Field(pattern=r"^[0-9A-Za-z_\-|*@]{1,64}$")
    refund_fen: int = Field(gt=0, le=10**10)
    total_fen: int = Field(gt=0, le=10**10)
    reason: str | None = Field(None, max_length=80)


class WeChatPayClient:
    def __init__(self, *, mchid: str, appid: str, merchant_serial: str, merchant_private_key: str,
                 platform_public_key: str, platform_public_key_id: str, apiv3_key: str, base_url: str,
                 notify_url: str, timeout_s: float, extra_appids: Collection[str] = ()) -> None:
        private = keys.load_private_key(merchant_private_key, setting="ZSB_WECHATPAY_MERCHANT_PRIVATE_KEY")
        public = keys.load_public_key(platform_public_key, setting="ZSB_WECHATPAY_PLATFORM_PUBLIC_KEY")
        if len(apiv3_key.encode()) != 32:
            raise ValueError("ZSB_WECHATPAY_APIV3_KEY must be 32 bytes")
        self.mchid, self.appid, self.notify_url = mchid, appid, notify_url
        self.base_url = base_url.rstrip("/")
        self._pay = AsyncWeChatPay(
            wechatpay_type=WeChatPayType.MINIPROG, mchid=mchid, private_key=keys.private_key_pkcs8_pem(private),
            cert_serial_no=merchant_serial, appid=appid, apiv3_key=apiv3_key, notify_url=notify_url,
            timeout=(min(5.0, timeout_s), timeout_s), public_key=keys.public_key_pem(public),
            public_key_id=platform_public_key_id)
        self._pay._core._gate_way = self.base_url  # the SDK hard-codes https://api.mch.weixin.qq.com
        self.callbacks = CallbackVerifier(platform_public_key=public, public_key_id=platform_public_key_id,
                                          apiv3_key=apiv3_key.encode(), mchid=mchid, appids={appid, *extra_appids})
        self._opened = False
        self._open_lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> WeChatPayClient:
        return cls(mchid=settings.wechatpay_mchid, appid=settings.wechatpay_appid,
                   merchant_serial=settings.wechatpay_merchant_serial,
                   merchant_private_key=settings.wechatpay_merchant_private_key.get_secret_value(),
                   platform_public_key=settings.wechatpay_platform_public_key,
                   platform_public_key_id=settings.wechatpay_platform_public_key_id,
                   apiv3_key=settings.wechatpay_apiv3_key.get_secret_value(), base_url=settings.wechatpay_base_url,
                   notify_url=settings.wechatpay_notify_url, timeout_s=settings.wechatpay_timeout_s,
                   extra_appids=(settings.wechat_oa_appid,))

    # -- payments ---------------------------------------------------------------------------------------------
    async def prepay(self, *, out_trade_no: str, description: str, amount_fen: int, payer_openid: str,
                     expires_at: datetime | None = None, attach: str | None = None,
                     notify_url: str | None = None, appid: str | None = None) -> Prepay:
        """JSAPI / mini-program order → prepay_id and the signed `wx.requestPayment` parameters. Calling again
        with the same out_trade_no and the same terms gives the same prepay_id (safe to retry)."""
        request = PrepayRequest(out_trade_no=out_trade_no, description=description, amount_fen=amount_fen,
                                payer_openid=payer_openid, expires_at=expires_at, attach=attach)
        if len(description.encode()) > 127:
            raise ValueError("description is longer than 127 bytes")
        if expires_at is not None and expires_at.tzinfo is None:
            raise ValueError("expires_at must be timezone-aware")
        data = await self._json("prepay", lambda: self._pay.pay(
            description=request.description, out_trade_no=request.out_trade_no,
            amount={"total": request.amount_fen, "currency": "CNY"}, payer={"openid": request.payer_openid},
            time_expire=expires_at.isoformat(timespec="seconds") if expires_at else None, attach=attach,
            notify_url=notify_url, appid=appid, pay_type=WeChatPayType.MINIPROG))
        prepay_id = data.get("prepay_id")
        if not isinstance(prepay_id, str) or not prepay_id:
            raise ProviderUnavailable(PROVIDER, "MALFORMED", "no prepay_id in the answer")
        return Prepay(out_trade_no, prepay_id, self.request_payment(prepay_id, appid=appid))

    def request_payment(self, prepay_id: str, *, appid: str | None = None) -> RequestPayment:
        """The client's parameters: paySign = SHA256withRSA(appId\\ntimeStamp\\nnonceStr\\npackage\\n)."""
        app_id, stamp, nonce = appid or self.appid, str(int(time.time())), secrets.token_hex(16)
        package = f"prepay_id={prepay_id}"
        return RequestPayment(app_id, stamp, nonce, package, "RSA", self._pay.sign([app_id, stamp, nonce, package]))

    async def query(self, out_trade_no: str) -> Transaction:
        """The order's state at WeChat Pay; TradeNotFound if it was never created there."""
        data = await self._json("query", lambda: self._pay.query(out_trade_no=out_trade_no))
        return _validate(Transaction, data)

    async def close(self, out_trade_no: str) -> None:
        """Stop an unpaid order from being paid. ProviderRejected `ORDERPAID` if the money already arrived."""
        await self._call("close", lambda: self._pay.close(out_trade_no=out_trade_no))

    # -- refunds ----------------------------------------------------------------------------------------------
    async def refund(self, *, out_trade_no: str, out_refund_no: str, refund_fen: int, total_fen: int,
                     reason: str | None = None, notify_url: str | None = None) -> Refund:
        """Ask for a (partial) refund; usually PROCESSING, settled by a REFUND.* callback or `query_refund`. The
        same out_refund_no with the same amounts is answered with the same refund (safe to retry)."""
        request = RefundRequest(out_trade_no=out_trade_no, out_refund_no=out_refund_no, refund_fen=refund_fen,
                                total_fen=total_fen, reason=reason)
        data = await self._json("refund", lambda: self._pay.refund(
            out_refund_no=request.out_refund_no, out_trade_no=request.out_trade_no, reason=request.reason,
            amount={"refund": request.refund_fen, "total": request.total_fen, "currency": "CNY"},
            notify_url=notify_url))
        return _validate(Refund, data)

    async def query_refund(self, out_refund_no: str) -> Refund:
        data = await self._json("query_refund", lambda: self._pay.query_refund(out_refund_no=out_refund_no))
        return _validate(Refund, data)

    # -- bills ------------------------------------------------------------------------------------------------
    async def trade_bill(self, bill_date: date, *, bill_type: str = "ALL") -> TradeBill:
        """The day's trade bill (Asia/Shanghai day), downloaded gzipped, checked against WeChat's SHA1 and its
        own summary. A day without transactions has no bill at WeChat Pay: an empty TradeBill."""
        try:
            meta = await self._json("trade_bill", lambda: self._pay.trade_bill(
                bill_date=bill_date.isoformat(), bill_type=bill_type, tar_type="GZIP"))
        except ProviderRejected as exc:
            if exc.code == "NO_STATEMENT_EXIST":
                return TradeBill(bill_date, (), 0, 0, 0, 0, {})
            raise
        url, digest = str(meta.get("download_url", "")), str(meta.get("hash_value", "")).lower()
        if not url.startswith(self.base_url + "/") or meta.get("hash_type") != "SHA1":
            raise BillUnavailable(PROVIDER, "BAD_DOWNLOAD_URL", "download_url is not on the configured gateway")
        _status, content = await self._call("bill_download", lambda: self._pay.download_bill(url))
        data = content if isinstance(content, bytes) else str(content).encode()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        if hashlib.sha1(data, usedforsecurity=False).hexdigest() != digest:
            raise BillUnavailable(PROVIDER, "BILL_HASH_MISMATCH", "SHA1 of the file differs from hash_value")
        return parse_trade_bill(data, bill_date)

    # -- callbacks --------------------------------------------------------------------------------------------
    def verify_callback(self, headers: Mapping[str, str] | Callable[[str], str | None], body: bytes, *,
                        now: float | None = None) -> Notice:
        """See payments.wechatpay_callback: CallbackRejected(reason) or the decrypted, typed Notice."""
        return self.callbacks.verify(headers, body, now=now)

    # -- plumbing ---------------------------------------------------------------------------------------------
    async def _open(self) -> None:
        if self._opened:
            return
        async with self._open_lock:
            if not self._opened:
                await self._pay.__aenter__()  # creates the SDK's httpx.AsyncClient (public-key mode: no download)
                self._opened = True

    async def _call(self, what: str, call: Callable[[], Awaitable[tuple[int, Any]]]) -> tuple[int, Any]:
        """One SDK call; 2xx gives (status, text or bytes), anything else a PaymentProviderError."""
        await self._open()
        started = time.monotonic()
        error: PaymentProviderError
        try:
            status, content = await call()
        except httpx.TimeoutException as exc:
            error = ProviderUnavailable(PROVIDER, "TIMEOUT", type(exc).__name__, retryable=True)
            raise self._failed(what, error) from exc
        except httpx.HTTPError as exc:
            error = ProviderUnavailable(PROVIDER, "NETWORK", type(exc).__name__, retryable=True)
            raise self._failed(what, error) from exc
        except Exception as exc:  # the SDK raises bare Exception for a bad answer signature or missing headers
            text = str(exc)
            if "signature" in text or "algorithm" in text:
                raise self._failed(what, ProviderUnavailable(PROVIDER, "BAD_SIGNATURE", text[:120])) from None
            raise
        elapsed_ms = round((time.monotonic() - started) * 1000)
        if 200 <= status < 300:
            log.info("wechatpay_call", call=what, status=status, elapsed_ms=elapsed_ms)
            return status, content
        code, message = _error_of(content)
        if status >= 500 or status == 429 or code in UNAVAILABLE_CODES:
            error = ProviderUnavailable(PROVIDER, code, message, status=status, retryable=True)
        elif status == 404 or code in NOT_FOUND_CODES:
            error = TradeNotFound(PROVIDER, code, message, status=status)
        else:
            error = ProviderRejected(PROVIDER, code, message, status=status)
        raise self._failed(what, error, elapsed_ms)

    async def _json(self, what: str, call: Callable[[], Awaitable[tuple[int, Any]]]) -> dict[str, Any]:
        _status, content = await self._call(what, call)
        try:
            data = json.loads(content)
        except (TypeError, ValueError):
            raise ProviderUnavailable(PROVIDER, "MALFORMED", f"{what}: answer is not JSON") from None
        if not isinstance(data, dict):
            raise ProviderUnavailable(PROVIDER, "MALFORMED", f"{what}: answer is not an object")
        return data

    @staticmethod
    def _failed(what: str, error: PaymentProviderError, elapsed_ms: int | None = None) -> PaymentProviderError:
        log.warning("wechatpay_call_failed", call=what, code=error.code, status=error.status,
                    retryable=error.retryable, detail=error.message[:200], elapsed_ms=elapsed_ms)
        return error

    async def aclose(self) -> None:
        if self._opened:
            await self._pay.__aexit__(None, None, None)
            self._opened = False


def _error_of(content: Any) -> tuple[str, str]:
    """WeChat Pay's `{"code", "message"}` of an error answer (a proxy may answer HTML instead)."""
    try:
        data = json.loads(content)
    except (TypeError, ValueError):
        return "NO_CODE", ""
    if not isinstance(data, dict):
        return "NO_CODE", ""
    return str(data.get("code") or "NO_CODE")[:64], str(data.get("message") or "")[:200]


def _validate(model: type[Any], data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ProviderUnavailable(PROVIDER, "MALFORMED", f"{model.__name__}: {exc.error_count()} bad fields") from None
