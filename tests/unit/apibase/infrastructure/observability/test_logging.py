"""configure_logging: ECS JSON or console lines for structlog and stdlib loggers alike, with the request context."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import structlog

from apibase.core.context import correlation_id, principal, request_id, tenant
from apibase.core.principal import AuthMethod, Principal
from apibase.infrastructure.observability import add_request_context, configure_logging
from apibase.infrastructure.observability.logging import UtcIsoStamper

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


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_json_lines_for_structlog_and_stdlib_loggers(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json=True, level="INFO", service_name="shop", service_version="1.2.3", environment="production")
    structlog.stdlib.get_logger("apibase.test").info("structured", answer=42)
    logging.getLogger("apibase.stdlib").warning("plain %s", "args")
    first, second = json_lines(capsys.readouterr().err)
    service = {"name": "shop", "version": "1.2.3", "environment": "production"}
    timestamp = first.pop("@timestamp")
    assert isinstance(timestamp, str)
    assert timestamp.endswith("Z")
    assert first == {
        "log": {"level": "info", "logger": "apibase.test"},
        "message": "structured",
        "answer": 42,
        "service": service,
        "ecs": {"version": "8.11.0"},
    }
    second.pop("@timestamp")
    assert second == {
        "log": {"level": "warning", "logger": "apibase.stdlib"},
        "message": "plain args",
        "service": service,
        "ecs": {"version": "8.11.0"},
    }


def test_service_defaults_keep_old_callers_working(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json=True)
    structlog.stdlib.get_logger("t").info("x")
    (line,) = json_lines(capsys.readouterr().err)
    assert line["service"] == {"name": "apibase"}


def test_request_context_is_added_and_explicit_values_win(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json=True, level="INFO")
    tokens = (request_id.set("rid-1"), tenant.set("acme"), principal.set(CALLER), correlation_id.set("flow-1"))
    try:
        structlog.stdlib.get_logger("t").info("inside")
        logging.getLogger("t").info("stdlib inside")
        structlog.stdlib.get_logger("t").info("explicit", tenant="other", user="bob", correlation_id="flow-2")
    finally:
        correlation_id.reset(tokens[3])
        principal.reset(tokens[2])
        tenant.reset(tokens[1])
        request_id.reset(tokens[0])
    structlog.stdlib.get_logger("t").info("outside")
    inside, stdlib_inside, explicit, outside = json_lines(capsys.readouterr().err)
    for line in (inside, stdlib_inside):
        assert context_of(line) == ("rid-1", "flow-1", "acme", "alice")
    assert context_of(explicit) == ("rid-1", "flow-2", "other", "bob")
    assert not {"http", "labels", "organization", "user"} & set(outside)


def context_of(line: dict[str, Any]) -> tuple[object, ...]:
    return (
        line["http"]["request"]["id"],
        line["labels"]["correlation_id"],
        line["organization"]["id"],
        line["user"]["id"],
    )


def test_contextvars_bound_with_structlog_are_merged(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json=True, level="INFO")
    with structlog.contextvars.bound_contextvars(job="reindex"):
        logging.getLogger("jobs").info("step")
    (line,) = json_lines(capsys.readouterr().err)
    assert line["job"] == "reindex"


def fail_login() -> None:
    raise ValueError("login failed for alice@example.com with password=hunter2")


def test_exceptions_become_ecs_error_fields_with_masked_text(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json=True, level="INFO")
    try:
        fail_login()
    except ValueError:
        logging.getLogger("t").exception("failed")
        structlog.stdlib.get_logger("t").exception("failed too")
    for line in json_lines(capsys.readouterr().err):
        error = line["error"]
        assert error["type"] == "ValueError"
        assert error["message"] == "login failed for a***@example.com with password=[MASKED]"
        assert error["stack_trace"].startswith("Traceback (most recent call last):")
        assert error["stack_trace"].endswith("ValueError: login failed for a***@example.com with password=[MASKED]")
        assert "hunter2" not in json.dumps(line)
        assert "exc_info" not in line


def test_pii_is_masked_in_json_and_console_lines(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json=True, level="INFO", masked_fields=("pin",))
    structlog.stdlib.get_logger("t").info(
        "mail bob@example.org", user_pin="1234", nested={"Pin": 7, "note": "+4930123456"}
    )
    (line,) = json_lines(capsys.readouterr().err)
    assert (line["message"], line["user_pin"], line["nested"]) == (
        "mail b***@example.org",
        "[MASKED]",
        {"Pin": "[MASKED]", "note": "[PHONE]"},
    )
    configure_logging(json=False, level="INFO")
    structlog.stdlib.get_logger("t").info("mail bob@example.org", password="hunter2")
    logging.getLogger("t").info("card 4111 1111 1111 1111")
    console = capsys.readouterr().err
    assert "b***@example.org" in console
    assert "[CARD]" in console
    assert not any(secret in console for secret in ("bob@", "hunter2", "4111 1111"))


def test_console_renderer_in_development(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json=False, level="DEBUG")
    structlog.stdlib.get_logger("apibase.dev").debug("readable", answer=42, request_id="rid-9")
    output = capsys.readouterr().err
    assert "readable" in output
    assert "answer=42" in output
    assert "request_id=rid-9" in output  # the short names: ECS is for machines
    assert "\x1b[" not in output  # captured stderr is not a TTY: no colour codes
    with pytest.raises(json.JSONDecodeError):
        json.loads(output)


def test_level_filters_and_reconfiguring_does_not_double_lines(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json=True, level="INFO")
    configure_logging(json=True, level="warning")
    structlog.stdlib.get_logger("t").info("dropped")
    structlog.stdlib.get_logger("t").warning("kept")
    assert [line["message"] for line in json_lines(capsys.readouterr().err)] == ["kept"]


def test_an_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown log level 'LOUD'"):
        configure_logging(json=True, level="LOUD")


def test_processor_leaves_events_alone_outside_a_request() -> None:
    assert add_request_context(None, "info", {"event": "x"}) == {"event": "x"}


def test_values_json_cannot_encode_natively_are_still_rendered(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json=True, level="INFO")
    structlog.stdlib.get_logger("t").info("odd", huge=2**70, caller=CALLER, keys={1: "one"})
    (line,) = json_lines(capsys.readouterr().err)
    assert line["huge"] == 2**70
    assert line["caller"].startswith("Principal(")
    assert line["keys"] == {"1": "one"}


@pytest.mark.parametrize(
    "nanoseconds",
    [
        1_796_601_600_000_000_000,  # on the second: no fraction, as isoformat writes it
        1_796_601_600_000_000_999,  # under a microsecond: still none (datetime.now floors)
        1_796_601_600_000_001_000,
        1_796_601_659_999_999_999,
        1_796_601_660_123_456_789,  # the next minute, after the one before: the cached second moves on
        1_796_601_600_500_000_000,  # back again
    ],
)
def test_the_timestamp_is_structlogs_iso_utc_stamp_for_the_instant(
    nanoseconds: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    stamper = UtcIsoStamper()
    stamper(None, "info", {})  # a second cached from the real clock must not leak into the next line
    monkeypatch.setattr(time, "time_ns", lambda: nanoseconds)
    expected = datetime.fromtimestamp(0, UTC) + timedelta(microseconds=nanoseconds // 1000)
    for _ in range(2):
        assert stamper(None, "info", {}) == {"timestamp": expected.isoformat().replace("+00:00", "Z")}


def test_the_timestamp_reads_like_structlogs_own() -> None:
    ours = UtcIsoStamper()(None, "info", {})["timestamp"]
    theirs = structlog.processors.TimeStamper(fmt="iso", utc=True)(None, "info", {})["timestamp"]
    shape = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z")
    assert shape.fullmatch(ours)
    assert shape.fullmatch(theirs)
    assert abs(datetime.fromisoformat(theirs) - datetime.fromisoformat(ours)) < timedelta(seconds=1)


def test_a_bound_logger_writes_whole_lines_to_the_stderr_of_the_moment(monkeypatch: pytest.MonkeyPatch) -> None:
    configure_logging(json=True)
    bound = structlog.get_logger("bound.early").bind(step=1)
    later = io.StringIO()
    monkeypatch.setattr(sys, "stderr", later)
    bound.info("written")
    [line] = json_lines(later.getvalue())
    assert line["message"] == "written"
    assert line["log"]["logger"] == "bound.early"
    assert later.getvalue().endswith("}\n")
