"""Failures of the payment-provider adapters, one type per way a caller must react.

- ProviderUnavailable: no trustworthy answer (timeout, network, 5xx, a busy code, or an answer whose signature
  failed). The state at the provider is unknown: query again later, never assume paid or unpaid.
- ProviderRejected: the provider answered and refused (a business rule or a request error); `code` is the
  provider's own (`ORDERPAID`, `ACQ.TRADE_HAS_SUCCESS`, `SIGN_ERROR`, …) for logs and decisions.
- TradeNotFound: the provider does not know this out_trade_no / refund number.
- CallbackRejected: an incoming callback or notify failed verification; `reason` is a short machine word for the
  log line (`bad_signature`, `stale_timestamp`, `wrong_serial`, …). Never contains key material.
"""

from __future__ import annotations


class PaymentProviderError(Exception):
    def __init__(self, provider: str, code: str, message: str = "", *, status: int | None = None,
                 retryable: bool = False) -> None:
        super().__init__(f"{provider} {code}: {message}" if message else f"{provider} {code}")
        self.provider = provider
        self.code = code
        self.message = message
        self.status = status
        self.retryable = retryable


class ProviderUnavailable(PaymentProviderError):
    """No usable answer. `retryable` is False only for a bad response signature (retrying will not fix keys)."""


class ProviderRejected(PaymentProviderError):
    """The provider refused the call; not retried."""


class TradeNotFound(ProviderRejected):
    """Unknown order or refund at the provider (WeChat ORDER_NOT_EXIST / RESOURCE_NOT_EXISTS, Alipay
    ACQ.TRADE_NOT_EXIST)."""


class BillUnavailable(ProviderUnavailable):
    """A bill file could not be fetched or failed its integrity check (hash, counts, format)."""


class CallbackRejected(Exception):
    """A callback we must not act on. Answer it with the provider's failure body; log `reason` and `detail`."""

    def __init__(self, provider: str, reason: str, detail: str = "") -> None:
        super().__init__(f"{provider} callback rejected: {reason}" + (f" ({detail})" if detail else ""))
        self.provider = provider
        self.reason = reason
        self.detail = detail
