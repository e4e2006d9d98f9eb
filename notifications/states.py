"""Delivery states, channels and failure reasons of a notification message — the vocabulary of the pipeline.

The states are GOV.UK Notify's, so operators read them the same way:

    created ──► sending ──► sent ──► delivered
       ▲           │          └────► temporary-failure   (no report within 72 h, or the phone was off)
       └───────────┤                 permanent-failure   (bad number, no grant, not a follower, bad template)
     (transient    └───────────────► technical-failure   (our side or the provider kept failing: retries used up)
      error: retry later)

`created` means "recorded and waiting to be sent": the first try, a retry after a transient error (with its
`due_at`), or a non-urgent message held by quiet hours. `sending` is a claim by one worker with a lease: a
worker that dies mid-send leaves the message to be reclaimed when the lease runs out. WeChat answers a send
synchronously and has no delivery report we receive, so an accepted WeChat message is `delivered` at once; an
SMS is `sent` until the provider's status report says delivered or failed.
"""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    CREATED = "created"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    TEMPORARY_FAILURE = "temporary-failure"
    PERMANENT_FAILURE = "permanent-failure"
    TECHNICAL_FAILURE = "technical-failure"


FINAL = frozenset({State.DELIVERED, State.TEMPORARY_FAILURE, State.PERMANENT_FAILURE, State.TECHNICAL_FAILURE})
FAILURES = frozenset({State.TEMPORARY_FAILURE, State.PERMANENT_FAILURE, State.TECHNICAL_FAILURE})
# A provider's status report may arrive before the worker has recorded `sent` (the simulator answers at once).
REPORTABLE = frozenset({State.SENDING, State.SENT})

STATE_LABELS: dict[State, str] = {
    State.CREATED: "待发送", State.SENDING: "发送中", State.SENT: "已发出", State.DELIVERED: "已送达",
    State.TEMPORARY_FAILURE: "暂时失败", State.PERMANENT_FAILURE: "永久失败", State.TECHNICAL_FAILURE: "技术故障",
}


class Channel(StrEnum):
    WECHAT_SUBSCRIBE = "wechat_subscribe"  # mini-program subscribe message (needs a grant)
    WECHAT_TEMPLATE = "wechat_template"  # official-account template message (needs a follower)
    SMS = "sms"
    NONE = "none"  # no channel could be found: recorded as a permanent failure with the reason


WECHAT = frozenset({Channel.WECHAT_SUBSCRIBE, Channel.WECHAT_TEMPLATE})


class Reason(StrEnum):
    """Why a message failed (or waits). Provider codes are kept beside it in `provider_code`."""

    UNKNOWN_TEMPLATE = "UNKNOWN_TEMPLATE"  # no template for the event's topic
    MISSING_PLACEHOLDER = "MISSING_PLACEHOLDER"  # the event lacks a value the template needs
    FIELD_INVALID = "FIELD_INVALID"  # a value no honest cut can fit to its WeChat field kind
    RECIPIENT_NOT_FOUND = "RECIPIENT_NOT_FOUND"
    RECIPIENT_DISABLED = "RECIPIENT_DISABLED"
    NO_CHANNEL = "NO_CHANNEL"  # no openid and no verified phone (or the person switched every channel off)
    NO_GRANT = "NO_GRANT"  # no subscribe-message grant left (ours, or WeChat's 43101)
    NOT_FOLLOWER = "NOT_FOLLOWER"  # 43004
    BAD_ADDRESS = "BAD_ADDRESS"  # 40003 openid, or an illegal phone number
    REJECTED = "REJECTED"  # the provider refused this message for good (template, data, sign, balance…)
    TRANSIENT = "TRANSIENT"  # a transient error; retried (kept while waiting, final once retries are used up)
    LEASE_EXPIRED = "LEASE_EXPIRED"  # a worker died mid-send; the message was claimed again
    NOT_DELIVERED = "NOT_DELIVERED"  # the provider's report says the phone did not get it
    UNCONFIRMED = "UNCONFIRMED"  # no delivery report within the confirmation window (72 h)


# Failures after which the next channel of the person's chain is tried (once): WeChat could not deliver.
FALLBACK_REASONS = frozenset({Reason.NO_GRANT, Reason.NOT_FOLLOWER, Reason.BAD_ADDRESS, Reason.REJECTED,
                              Reason.FIELD_INVALID, Reason.TRANSIENT})
