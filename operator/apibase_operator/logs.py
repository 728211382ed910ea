"""The operator's log lines as ECS JSON, with the service's field names, and the ApiBase on every object's line.

The service writes Elastic Common Schema documents (``apibase.infrastructure.observability.ecs``); one index and one
set of dashboards serve both when the operator writes the same fields. It cannot import the service's module:
that drags in structlog, OpenTelemetry and the service's settings, none of which the operator image carries.
So the few field names both write are written here again, and a test runs both and compares what they emit.

| field                          | value                                                     |
| ------------------------------ | --------------------------------------------------------- |
| ``@timestamp``                 | ISO 8601, UTC, microseconds (``2026-01-02T03:04:05.678901Z``) |
| ``log.level``                  | lower case (``info``)                                     |
| ``log.logger``                 | the Python logger (``kopf.objects``, ``apibase_operator...``) |
| ``message``                    | the formatted message                                     |
| ``error.type/message/stack_trace`` | an exception logged with the line                     |
| ``orchestrator.type``          | ``kubernetes``, on the lines about one object             |
| ``orchestrator.namespace``     | its namespace                                             |
| ``orchestrator.resource.type`` | its kind, lower case (``apibase``, ``deployment``)        |
| ``orchestrator.resource.name`` | its name                                                  |
| ``orchestrator.resource.id``   | its UID                                                   |
| ``service.name`` / ``service.version`` | ``apibase-operator`` and the package version     |
| ``ecs.version``                | the ECS version the service declares                      |

kopf hands every handler a per-object logger whose records carry the object's reference (``k8s_ref``); its own
lines about an object (handler outcomes, retries, errors) carry it too. That reference is what becomes the
``orchestrator`` fields, so every line about an ApiBase names its namespace and name.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Final, TextIO

__all__ = ["ECS_VERSION", "SERVICE_NAME", "EcsJsonFormatter", "configure_logging"]

#: The ECS version the service declares (``apibase.infrastructure.observability.ecs.ECS_VERSION``; a test compares).
ECS_VERSION: Final = "8.11.0"
SERVICE_NAME: Final = "apibase-operator"


def _package_version() -> str | None:
    try:
        return version("apibase")
    except PackageNotFoundError:
        return None


class EcsJsonFormatter(logging.Formatter):
    """One JSON document per record, in the service's ECS shape."""

    def __init__(self, *, service_name: str = SERVICE_NAME, service_version: str | None = None) -> None:
        super().__init__()
        service = {"name": service_name, "version": service_version}
        self._service = {key: value for key, value in service.items() if value is not None}

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, object] = {
            "@timestamp": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "log": {"level": record.levelname.lower(), "logger": record.name},
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            document["error"] = {
                "type": type(error).__qualname__,
                "message": str(error),
                "stack_trace": "".join(traceback.format_exception(error)).rstrip("\n"),
            }
        reference = getattr(record, "k8s_ref", None)
        if isinstance(reference, Mapping):
            document["orchestrator"] = _orchestrator(reference)
        document["service"] = dict(self._service)
        document["ecs"] = {"version": ECS_VERSION}
        return json.dumps(document, default=str, ensure_ascii=False)


def _orchestrator(reference: Mapping[str, object]) -> dict[str, object]:
    resource = {
        "type": str(reference["kind"]).lower() if reference.get("kind") else None,
        "name": reference.get("name"),
        "id": reference.get("uid"),
    }
    orchestrator: dict[str, object] = {"type": "kubernetes"}
    if reference.get("namespace"):
        orchestrator["namespace"] = reference["namespace"]
    orchestrator["resource"] = {key: value for key, value in resource.items() if value}
    return orchestrator


class _EcsHandler(logging.StreamHandler[TextIO]):
    """The root handler installed here; configuring again replaces it instead of doubling every line."""


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    """ECS JSON lines on ``stream`` (default: standard error) for every logger, kopf's included, from ``level`` on."""
    numeric_level = logging.getLevelNamesMapping().get(level.upper())
    if numeric_level is None:
        raise ValueError(f"unknown log level {level!r}")
    handler = _EcsHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(EcsJsonFormatter(service_version=_package_version()))
    root = logging.getLogger()
    root.handlers[:] = [existing for existing in root.handlers if not isinstance(existing, _EcsHandler)]
    root.addHandler(handler)
    root.setLevel(numeric_level)
