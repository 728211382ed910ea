"""configure_logging: JSON or console lines for structlog and stdlib loggers alike, with the request context."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from app.core.context import principal, request_id, tenant
from app.core.principal import AuthMethod, Principal
from app.infrastructure.observability import add_request_context, configure_logging

pytestmark = pytest.mark.unit

CALLER = Principal("alice", "acme", frozenset({"admin"}), frozenset({"products:write"}), AuthMethod.ACCESS_TOKEN)


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


def json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_json_lines_for_structlog_and_stdlib_loggers(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json=True, level="INFO")
    structlog.stdlib.get_logger("apibase.test").info("structured", answer=42)
    logging.getLogger("apibase.stdlib").warning("plain %s", "args")
    first, second = json_lines(capsys.readouterr().err)
    assert first["event"] == "structured"
    assert first["answer"] == 42
    assert first["logger"] == "apibase.test"
    assert first["level"] == "info"
    assert str(first["timestamp"]).endswith("Z")
    assert second["event"] == "plain args"
    assert second["logger"] == "apibase.stdlib"
    assert second["level"] == "warning"


def test_request_context_is_added_and_explicit_values_win(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json=True, level="INFO")
    tokens = (request_id.set("rid-1"), tenant.set("acme"), principal.set(CALLER))
    try:
        structlog.stdlib.get_logger("t").info("inside")
        logging.getLogger("t").info("stdlib inside")
        structlog.stdlib.get_logger("t").info("explicit", tenant="other", user="bob")
    finally:
        principal.reset(tokens[2])
        tenant.reset(tokens[1])
        request_id.reset(tokens[0])
    structlog.stdlib.get_logger("t").info("outside")
    inside, stdlib_inside, explicit, outside = json_lines(capsys.readouterr().err)
    for line in (inside, stdlib_inside):
        assert (line["request_id"], line["tenant"], line["user"]) == ("rid-1", "acme", "alice")
    assert (explicit["request_id"], explicit["tenant"], explicit["user"]) == ("rid-1", "other", "bob")
    assert not {"request_id", "tenant", "user"} & set(outside)


def test_contextvars_bound_with_structlog_are_merged(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json=True, level="INFO")
    with structlog.contextvars.bound_contextvars(job="reindex"):
        logging.getLogger("jobs").info("step")
    (line,) = json_lines(capsys.readouterr().err)
    assert line["job"] == "reindex"


def test_exceptions_are_structured_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json=True, level="INFO")
    try:
        _ = 1 / 0
    except ZeroDivisionError:
        logging.getLogger("t").exception("failed")
    (line,) = json_lines(capsys.readouterr().err)
    assert line["exception"][0]["exc_type"] == "ZeroDivisionError"


def test_console_renderer_in_development(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json=False, level="DEBUG")
    structlog.stdlib.get_logger("apibase.dev").debug("readable", answer=42)
    output = capsys.readouterr().err
    assert "readable" in output
    assert "answer=42" in output
    with pytest.raises(json.JSONDecodeError):
        json.loads(output)


def test_level_filters_and_reconfiguring_does_not_double_lines(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json=True, level="INFO")
    configure_logging(json=True, level="warning")
    structlog.stdlib.get_logger("t").info("dropped")
    structlog.stdlib.get_logger("t").warning("kept")
    assert [line["event"] for line in json_lines(capsys.readouterr().err)] == ["kept"]


def test_an_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown log level 'LOUD'"):
        configure_logging(json=True, level="LOUD")


def test_processor_leaves_events_alone_outside_a_request() -> None:
    assert add_request_context(None, "info", {"event": "x"}) == {"event": "x"}
