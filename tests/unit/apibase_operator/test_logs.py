"""The operator logs ECS JSON with the service's field names, and every line about an object names it."""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import kopf
import pytest
import structlog

from apibase.infrastructure.observability.ecs import ECS_VERSION as SERVICE_ECS_VERSION
from apibase.infrastructure.observability.logging import configure_logging as configure_service_logging
from apibase_operator.logs import ECS_VERSION, SERVICE_NAME, EcsJsonFormatter, configure_logging

pytestmark = pytest.mark.unit

APIBASE = {
    "apiVersion": "apibase.dev/v1alpha1",
    "kind": "ApiBase",
    "metadata": {"name": "orders", "namespace": "shop", "uid": "uid-1"},
}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


def paths(document: Mapping[str, object], prefix: str = "") -> set[str]:
    """Every leaf of a nested document as a dotted path (``log.level``)."""
    found: set[str] = set()
    for key, value in document.items():
        path = f"{prefix}{key}"
        found |= paths(value, f"{path}.") if isinstance(value, Mapping) else {path}
    return found


def operator_line(stream: io.StringIO) -> dict[str, object]:
    (line,) = stream.getvalue().splitlines()
    document: dict[str, object] = json.loads(line)
    return document


def per_object_logger() -> kopf.ObjectLogger:
    """The logger kopf passes to a handler of this ApiBase (``logger`` kwarg)."""
    return kopf.ObjectLogger(body=kopf.Body(APIBASE), settings=kopf.OperatorSettings())


def test_a_line_of_a_per_object_logger_is_ecs_json_naming_the_apibase(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)

    per_object_logger().info("removed %d owned object(s)", 3)

    document = operator_line(stream)
    assert TIMESTAMP.match(str(document.pop("@timestamp")))
    service = document.pop("service")
    assert isinstance(service, dict)
    assert service["name"] == SERVICE_NAME
    assert document == {
        "log": {"level": "info", "logger": "kopf.objects"},
        "message": "removed 3 owned object(s)",
        "orchestrator": {
            "type": "kubernetes",
            "namespace": "shop",
            "resource": {"type": "apibase", "name": "orders", "id": "uid-1"},
        },
        "ecs": {"version": ECS_VERSION},
    }


def test_kopf_own_lines_about_an_object_name_it_too(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("DEBUG", stream=stream)

    logging.getLogger("kopf.objects").warning("Handler failed", extra={"k8s_ref": APIBASE["metadata"]})

    assert operator_line(stream)["orchestrator"] == {
        "type": "kubernetes",
        "namespace": "shop",
        "resource": {"name": "orders", "id": "uid-1"},
    }


def test_a_line_about_no_object_has_no_orchestrator_fields_and_levels_filter(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("warning", stream=stream)

    logging.getLogger("kopf.activities").info("dropped: below the level")
    logging.getLogger("kopf.activities").warning("Startup done")

    document = operator_line(stream)
    assert "orchestrator" not in document
    assert document["log"] == {"level": "warning", "logger": "kopf.activities"}


def test_configuring_again_replaces_the_handler(restore_logging: None) -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging(stream=first)
    configure_logging(stream=second)

    logging.getLogger("apibase_operator").info("once")

    assert first.getvalue() == ""
    assert operator_line(second)["message"] == "once"


def test_an_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown log level 'LOUD'"):
        configure_logging("LOUD")


def _boom() -> None:
    raise RuntimeError("vault sealed")


def test_the_operator_and_the_service_write_the_same_field_names(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Both sides run for real: the service's structlog pipeline and the operator's formatter."""
    configure_service_logging(json=True, service_name="apibase", service_version="1.0.0")
    try:
        _boom()
    except RuntimeError:
        logging.getLogger("apibase.worker").exception("failed")
    service_document = json.loads(capsys.readouterr().err.splitlines()[-1])

    try:
        _boom()
    except RuntimeError:
        record = logging.LogRecord("apibase_operator", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    operator_document = json.loads(EcsJsonFormatter(service_version="1.0.0").format(record))

    assert paths(operator_document) == paths(service_document)
    assert SERVICE_ECS_VERSION == ECS_VERSION
    assert TIMESTAMP.match(service_document["@timestamp"])
    assert TIMESTAMP.match(operator_document["@timestamp"])
    assert operator_document["log"]["level"] == service_document["log"]["level"] == "error"
    assert operator_document["message"] == service_document["message"] == "failed"
    assert operator_document["error"]["type"] == service_document["error"]["type"] == "RuntimeError"
    assert operator_document["error"]["message"] == service_document["error"]["message"] == "vault sealed"


def test_the_guide_lists_every_field_the_operator_writes() -> None:
    try:
        _boom()
    except RuntimeError:
        record = logging.LogRecord("kopf.objects", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    record.k8s_ref = APIBASE["metadata"] | {"kind": "ApiBase"}
    document = json.loads(EcsJsonFormatter(service_version="1.0.0").format(record))
    guide = (Path(__file__).parents[3] / "docs" / "operator.md").read_text(encoding="utf-8")

    assert {path for path in paths(document) if f"`{path}`" not in guide} == set()


def test_the_operator_imports_nothing_of_the_service() -> None:
    """The operator image has no FastAPI or SQLAlchemy: the operator's modules must not need the service's."""
    code = (
        "import sys, apibase_operator.cli, apibase_operator.handlers, apibase_operator.logs; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'app', 'fastapi', 'sqlalchemy', 'structlog'}))"
    )
    result = subprocess.run(  # noqa: S603 - this interpreter, fixed arguments, no shell
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
