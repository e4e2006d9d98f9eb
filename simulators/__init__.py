"""Loopback simulators of the providers this machine cannot reach (WeChat, WeChat Pay v3, Alipay, SMS, the
population base). One Tornado process; each provider under its own path prefix speaks the real wire format, and
a control API under `/_sim/` lets tests and demos act as the person on the phone. See docs/simulators.md."""
