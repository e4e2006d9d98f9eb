"""Structured JSON logging for every process, with ID and phone numbers masked in every line.

Our own code logs through structlog (fast path, one JSON line per event); records from libraries that use the
standard `logging` module (tornado, pymongo, celery) are rendered by the same processor chain, so every line on
stdout is JSON and passes through the masking processor.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

from core.masking import mask_value


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
