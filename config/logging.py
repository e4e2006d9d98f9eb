"""Structured JSON logging for every process, with ID and phone numbers masked in every line.

Our own code logs through structlog (fast path, one JSON line per event); records from libraries that use the
standard `logging` module (tornado, pymongo, celery) are rendered by the same processor chain, so every line on
stdout is JSON and passes through the masking processor.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any

import structlog

from core.masking import mask_text, mask_value


@dataclass
class _Output:
    stream: Any
    service_json: str
    level: int


_OUTPUT = _Output(sys.stdout, '"api"', logging.INFO)


def mask_personal_data(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: mask citizen ID and mobile numbers in every value, including tracebacks."""
    return mask_value(event_dict)


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
        structlog.processors.format_exc_info,
        mask_personal_data,
    ]


def configure_logging(level: str = "INFO", *, service: str = "api", stream: Any = None) -> None:
    stream = stream or sys.stdout
    numeric = logging.getLevelNamesMapping()[level]
    _OUTPUT.stream, _OUTPUT.service_json, _OUTPUT.level = stream, encode_basestring(service), numeric
    processors = _shared_processors()
    structlog.configure(
        processors=[*processors, structlog.processors.JSONRenderer(ensure_ascii=False)],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.WriteLoggerFactory(file=stream),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)

    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *processors],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.JSONRenderer(ensure_ascii=False),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    # Tornado's own access log would duplicate our request line; pymongo is chatty at INFO.
    logging.getLogger("tornado.access").setLevel(logging.WARNING)
    logging.getLogger("pymongo").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO line carries full URLs (codes, tokens)


def log_hot_path(members: str) -> None:
    """The lean path for the one line written on every request.

    Same JSON shape and the same masking as the structlog chain, without its generic processors (which cost
    more than the rest of a health check). The caller renders its JSON members itself, putting every value
    that comes from the client through `json_text` (masked and escaped); service, level and time are added here.
    """
    if _OUTPUT.level > logging.INFO:
        return
    _OUTPUT.stream.write(f'{{{members},"service":{_OUTPUT.service_json},"level":"info","ts":"{_utc_timestamp()}"}}\n')
    _OUTPUT.stream.flush()


def json_text(value: str) -> str:
    """A JSON string literal of `value` with ID and phone numbers masked (the json module's C escaper)."""
    return encode_basestring(mask_text(value))


_second = -1
_second_text = ""


def _utc_timestamp() -> str:
    """ISO 8601 UTC with microseconds, like structlog's TimeStamper, formatting the date part once a second."""
    global _second, _second_text
    now = time.time()
    whole = int(now)
    if whole != _second:
        _second, _second_text = whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
    return f"{_second_text}.{int((now - whole) * 1_000_000):06d}Z"
