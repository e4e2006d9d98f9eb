"""`AlipayClient`: the Alipay open platform through the official `alipay-sdk-python`, off the IOLoop.

The SDK is synchronous (http.client): every call runs in a small thread pool of this client. The SDK signs
requests (RSA2, app private key, PKCS#1 as it requires) and verifies each answer's signature with the Alipay
public key; its HTTP post is replaced (payments.alipay_transport) because it ignores the gateway URL's port.
Answers with code != 10000 become payments.errors; notifies are verified by payments.alipay_notify. Nothing
here logs keys, signatures, buyer ids or bodies.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import httpx
import structlog
from alipay.aop.api.AlipayClientConfig import AlipayClientConfig
from alipay.aop.api.DefaultAlipayClient import DefaultAlipayClient
from alipay.aop.api.exception.Exception import RequestException, ResponseException
from alipay.aop.api.request.AlipayDataDataserviceBillDownloadurlQueryRequest import (
    AlipayDataDataserviceBillDownloadurlQueryRequest,
)
from alipay.aop.api.request.AlipaySystemOauthTokenRequest import AlipaySystemOauthTokenRequest
from alipay.aop.api.request.AlipayTradeCloseRequest import AlipayTradeCloseRequest
from alipay.aop.api.request.AlipayTradeCreateRequest import AlipayTradeCreateRequest
from alipay.aop.api.request.AlipayTradeFastpayRefundQueryRequest import AlipayTradeFastpayRefundQueryRequest
from alipay.aop.api.request.AlipayTradeQueryRequest import AlipayTradeQueryRequest
from alipay.aop.api.request.AlipayTradeRefundRequest import AlipayTradeRefundRequest
from alipay.aop.api.request.AlipayTradeWapPayRequest import AlipayTradeWapPayRequest
from pydantic import ValidationError

from payments import alipay_transport, keys
from payments.alipay_bill import parse_bill_zip
from payments.alipay_notify import NotifyVerifier
from payments.alipay_types import AlipayUser, Notice, Refund, RefundStatus, Trade, TradeBill, TradeCreated
from payments.errors import (
    BillUnavailable,
    PaymentProviderError,
    ProviderRejected,
    ProviderUnavailable,
    TradeNotFound,
)
from payments.money import fen_to_yuan

if TYPE_CHECKING:
    from config.settings import Settings

log = structlog.get_logger(__name__)
PROVIDER = "alipay"
SHANGHAI = ZoneInfo("Asia/Shanghai")
UNAVAILABLE_SUB_CODES = frozenset({"ACQ.SYSTEM_ERROR", "isp.unknow-error", "aop.ACQ.SYSTEM_ERROR"})


def _beijing(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def _check(out_trade_no: str, amount_fen: int, subject: str) -> None:
    if not 1 <= len(out_trade_no) <= 64:
        raise ValueError("out_trade_no must be 1-64 characters")
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or not 1 <= amount_fen <= 10**10:
        raise ValueError("amount_fen must be an int from 1 to 10^10")
    if not 1 <= len(subject) <= 256:
        raise ValueError("subject must be 1-256 characters")


class AlipayClient:
    def __init__(self, *, app_id: str, app_private_key: str, alipay_public_key: str, seller_id: str,
                 base_url: str, notify_url: str, timeout_s: float, max_workers: int = 8) -> None:
        private = keys.load_private_key(app_private_key, setting="ZSB_ALIPAY_APP_PRIVATE_KEY")
        public = keys.load_public_key(alipay_public_key, setting="ZSB_ALIPAY_PUBLIC_KEY")
        alipay_transport.install()
        config = AlipayClientConfig()
        config.server_url = base_url.rstrip("/") + "/gateway.do"
        config.app_id = app_id
        config.app_private_key = keys.private_key_pkcs1_pem(private)
        config.alipay_public_key = keys.public_key_pem(public)
        config.sign_type, config.charset, config.timeout = "RSA2", "utf-8", timeout_s
        self._sdk = DefaultAlipayClient(alipay_client_config=config)
        self.app_id, self.seller_id, self.notify_url = app_id, seller_id, notify_url
        self.notifies = NotifyVerifier(alipay_public_key=public, app_id=app_id, seller_id=seller_id)
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="alipay")
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0)))

    @classmethod
    def from_settings(cls, settings: Settings) -> AlipayClient:
        return cls(app_id=settings.alipay_app_id,
                   app_private_key=settings.alipay_app_private_key.get_secret_value(),
                   alipay_public_key=settings.alipay_public_key, seller_id=settings.alipay_seller_id,
                   base_url=settings.alipay_base_url, notify_url=settings.alipay_notify_url,
                   timeout_s=settings.alipay_timeout_s)

    # -- payments ---------------------------------------------------------------------------------------------
    async def create_trade(self, *, out_trade_no: str, amount_fen: int, subject: str,
                           buyer_open_id: str | None = None, buyer_id: str | None = None,
                           expires_at: datetime | None = None, notify_url: str | None = None) -> TradeCreated:
        """alipay.trade.create for the mini-program (`my.tradePay({tradeNO})`). The same out_trade_no with the
        same terms answers the same trade_no (safe to retry)."""
        _check(out_trade_no, amount_fen, subject)
        if not (buyer_open_id or buyer_id):
            raise ValueError("a mini-program trade needs buyer_open_id (or the older buyer_id)")
        biz: dict[str, Any] = {"out_trade_no": out_trade_no, "total_amount": fen_to_yuan(amount_fen),
                               "subject": subject, "product_code": "JSAPI_PAY"}
        biz.update({k: v for k, v in (("buyer_open_id", buyer_open_id), ("buyer_id", buyer_id)) if v})
        if expires_at is not None:
            biz["time_expire"] = _beijing(expires_at)
        request = AlipayTradeCreateRequest()
        request.biz_content, request.notify_url = biz, notify_url or self.notify_url
        return _validate(TradeCreated, await self._execute("trade_create", request))

    async def wap_pay_url(self, *, out_trade_no: str, amount_fen: int, subject: str, return_url: str | None = None,
                          quit_url: str | None = None, expires_at: datetime | None = None,
                          notify_url: str | None = None) -> str:
        """alipay.trade.wap.pay: the signed gateway URL the H5 page sends the browser to (no call is made)."""
        _check(out_trade_no, amount_fen, subject)
        biz: dict[str, Any] = {"out_trade_no": out_trade_no, "total_amount": fen_to_yuan(amount_fen),
                               "subject": subject, "product_code": "QUICK_WAP_WAY"}
        if quit_url:
            biz["quit_url"] = quit_url
        if expires_at is not None:
            biz["time_expire"] = _beijing(expires_at)
        request = AlipayTradeWapPayRequest()
        request.biz_content, request.notify_url = biz, notify_url or self.notify_url
        if return_url:
            request.return_url = return_url
        return await self._run(self._sdk.page_execute, request, "GET")

    async def query(self, out_trade_no: str) -> Trade:
        request = AlipayTradeQueryRequest()
        request.biz_content = {"out_trade_no": out_trade_no}
        return _validate(Trade, await self._execute("trade_query", request))

    async def close(self, out_trade_no: str) -> None:
        """ProviderRejected `ACQ.TRADE_STATUS_ERROR` when the trade is paid or already closed."""
        request = AlipayTradeCloseRequest()
        request.biz_content = {"out_trade_no": out_trade_no}
        await self._execute("trade_close", request)

    # -- refunds ----------------------------------------------------------------------------------------------
    async def refund(self, *, out_trade_no: str, out_request_no: str, refund_fen: int,
                     reason: str | None = None) -> Refund:
        """Synchronous at Alipay. Repeat the same out_request_no and amount to retry safely (fund_change False)."""
        if isinstance(refund_fen, bool) or not isinstance(refund_fen, int) or refund_fen < 1:
            raise ValueError("refund_fen must be a positive int")
        biz: dict[str, Any] = {"out_trade_no": out_trade_no, "out_request_no": out_request_no,
                               "refund_amount": fen_to_yuan(refund_fen)}
        if reason:
            biz["refund_reason"] = reason[:256]
        request = AlipayTradeRefundRequest()
        request.biz_content = biz
        data = await self._execute("trade_refund", request)
        return _validate(Refund, data | {"out_request_no": out_request_no})

    async def query_refund(self, *, out_trade_no: str, out_request_no: str) -> RefundStatus:
        request = AlipayTradeFastpayRefundQueryRequest()
        request.biz_content = {"out_trade_no": out_trade_no, "out_request_no": out_request_no}
        data = await self._execute("refund_query", request)
        return _validate(RefundStatus, {"out_trade_no": out_trade_no, "out_request_no": out_request_no} | data)

    # -- bills ------------------------------------------------------------------------------------------------
    async def bill_download_url(self, bill_date: date) -> str:
        request = AlipayDataDataserviceBillDownloadurlQueryRequest()
        request.biz_content = {"bill_type": "trade", "bill_date": bill_date.isoformat()}
        url = str((await self._execute("bill_url", request)).get("bill_download_url") or "")
        if not url.startswith(("https://", "http://")):
            raise BillUnavailable(PROVIDER, "BAD_DOWNLOAD_URL", "no bill_download_url in the answer")
        return url

    async def trade_bill(self, bill_date: date) -> TradeBill:
        """The day's trade bill: URL (valid 30 s), the zip, the GBK detail CSV parsed and checked."""
        url = await self.bill_download_url(bill_date)
        try:
            response = await self._http.get(url)
        except httpx.HTTPError as exc:
            raise BillUnavailable(PROVIDER, "BILL_DOWNLOAD", type(exc).__name__, retryable=True) from exc
        if response.status_code != 200:
            raise BillUnavailable(PROVIDER, "BILL_DOWNLOAD", f"HTTP {response.status_code}", retryable=True)
        return parse_bill_zip(response.content, bill_date)

    # -- the payer's identity ---------------------------------------------------------------------------------
    async def user_of(self, auth_code: str) -> AlipayUser:
        """alipay.system.oauth.token (grant_type authorization_code): the Alipay user behind the code the
        mini-program got from `my.getAuthCode` (scope auth_base). A code works once: a bad, used or expired one
        is ProviderRejected `isv.code-invalid`. Its answer has no `code` field when it succeeds."""
        if not 1 <= len(auth_code) <= 64:
            raise ValueError("auth_code must be 1-64 characters")
        request = AlipaySystemOauthTokenRequest()
        request.grant_type, request.code = "authorization_code", auth_code
        return _validate(AlipayUser, await self._execute("oauth_token", request, codeless=True))

    # -- notifies ---------------------------------------------------------------------------------------------
    def verify_notify(self, form: Mapping[str, str]) -> Notice:
        """See payments.alipay_notify: CallbackRejected(reason) or the typed Notice. Reply `success` after."""
        return self.notifies.verify(form)

    # -- plumbing ---------------------------------------------------------------------------------------------
    async def _run(self, function: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    async def _execute(self, what: str, request: Any, *, codeless: bool = False) -> dict[str, Any]:
        """One gateway call: the answer object when code is 10000 (or, `codeless`, has no code: oauth.token),
        else a PaymentProviderError."""
        started = time.monotonic()
        error: PaymentProviderError
        try:
            content = await self._run(self._sdk.execute, request)
        except alipay_transport.GatewayTimeout as exc:
            raise self._failed(what, ProviderUnavailable(PROVIDER, "TIMEOUT", retryable=True)) from exc
        except alipay_transport.GatewayHttpError as exc:
            error = ProviderUnavailable(PROVIDER, f"HTTP_{exc.status}", status=exc.status, retryable=exc.status >= 500)
            raise self._failed(what, error) from exc
        except RequestException as exc:
            raise self._failed(what, ProviderUnavailable(PROVIDER, "NETWORK", retryable=True)) from exc
        except ResponseException as exc:  # the SDK could not find or verify the answer's signature
            code = "BAD_SIGNATURE" if "verify" in str(exc) else "MALFORMED"
            raise self._failed(what, ProviderUnavailable(PROVIDER, code)) from None
        try:
            data = json.loads(content)
        except (TypeError, ValueError):
            raise self._failed(what, ProviderUnavailable(PROVIDER, "MALFORMED", "not JSON")) from None
        elapsed_ms = round((time.monotonic() - started) * 1000)
        code = str(data.get("code", "10000" if codeless else None)) if isinstance(data, dict) else ""
        if code == "10000":
            log.info("alipay_call", call=what, elapsed_ms=elapsed_ms)
            return data
        sub_code = str(data.get("sub_code") or code or "NO_CODE")[:64] if isinstance(data, dict) else "NO_CODE"
        message = str(data.get("sub_msg") or data.get("msg") or "")[:200] if isinstance(data, dict) else ""
        if code == "20000" or sub_code in UNAVAILABLE_SUB_CODES:
            error = ProviderUnavailable(PROVIDER, sub_code, message, retryable=True)
        elif sub_code == "ACQ.TRADE_NOT_EXIST":
            error = TradeNotFound(PROVIDER, sub_code, message)
        else:
            error = ProviderRejected(PROVIDER, sub_code, message)
        raise self._failed(what, error, elapsed_ms)

    @staticmethod
    def _failed(what: str, error: PaymentProviderError, elapsed_ms: int | None = None) -> PaymentProviderError:
        log.warning("alipay_call_failed", call=what, code=error.code, retryable=error.retryable,
                    detail=error.message.split("，网关生成的验签字符串为")[0][:200], elapsed_ms=elapsed_ms)
        return error

    async def aclose(self) -> None:
        await self._http.aclose()
        self._executor.shutdown(wait=False, cancel_futures=True)


def _validate(model: type[Any], data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except (ValidationError, ValueError):
        raise ProviderUnavailable(PROVIDER, "MALFORMED", f"{model.__name__} does not validate") from None
