import io
import json
import logging

import structlog

from config.logging import configure_logging, json_text, log_hot_path


def test_every_line_is_json_and_masked() -> None:
    stream = io.StringIO()
    saved_config, saved_handlers = structlog.get_config(), logging.getLogger().handlers[:]
    configure_logging("INFO", service="unit", stream=stream)
    try:
        structlog.get_logger("x").info("bound", phone="13812345678", detail={"id": "110101199003077777"})
        logging.getLogger("tornado.general").warning("client 13912345678 sent id 11010119900307777X")
        try:
            raise ValueError("bad id 110101199003077777")
        except ValueError:
            structlog.get_logger("x").exception("failed")
    finally:  # give the session's logging set-up back to the other tests
        structlog.configure(**saved_config)
        logging.getLogger().handlers[:] = saved_handlers
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["event"] for line in lines] == ["bound", "client 139****5678 sent id 110101********777X", "failed"]
    assert lines[0]["phone"] == "138****5678" and lines[0]["detail"] == {"id": "110101********7777"}
    assert lines[1]["logger"] == "tornado.general" and lines[1]["level"] == "warning"
    assert "110101********7777" in lines[2]["exception"]
    assert "13812345678" not in stream.getvalue() and "199003077777" not in stream.getvalue()
    assert all(line["service"] == "unit" and line["ts"].endswith("Z") for line in lines)


def test_hot_path_line_is_json_masked_and_escaped() -> None:
    stream = io.StringIO()
    saved_config, saved_handlers = structlog.get_config(), logging.getLogger().handlers[:]
    configure_logging("INFO", service="api", stream=stream)
    try:
        path = json_text('/x?q="张三"&p=13812345678')
        log_hot_path(f'"event":"request","path":{path},"status":200')
    finally:
        structlog.configure(**saved_config)
        logging.getLogger().handlers[:] = saved_handlers
    line = json.loads(stream.getvalue())
    assert line["path"] == '/x?q="张三"&p=138****5678' and line["status"] == 200
    assert line["service"] == "api" and line["level"] == "info" and line["ts"].endswith("Z")
