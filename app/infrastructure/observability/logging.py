"""One structlog set-up for the whole process: JSON lines in production, readable console lines in development.

Standard-library loggers (``logging.getLogger(__name__)``, uvicorn, SQLAlchemy) are routed through the same
processors and renderer, so every line has one shape and carries the request id, tenant and caller of the
request it was written in, without anybody passing them along.

Public API: ``configure_logging(*, json, level="INFO")``, ``add_request_context`` (a structlog processor).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Final, TextIO

import structlog
from structlog.typing import EventDict, Processor

from app.core.context import current_principal, current_request_id, current_tenant

__all__ = ["add_request_context", "configure_logging"]

_LEVELS: Final = logging.getLevelNamesMapping()


def add_request_context(logger: object, method_name: str, event_dict: EventDict) -> EventDict:
    """Add ``request_id``, ``tenant`` and ``user`` (the principal's subject) from the request context.

    Values the caller passed explicitly win: the access log is written after the request, when the context
    variables of inner middlewares have already been reset, and passes its own.
    """
    _set_missing(event_dict, "request_id", current_request_id())
    _set_missing(event_dict, "tenant", current_tenant())
    caller = current_principal()
    _set_missing(event_dict, "user", caller.subject if caller is not None else None)
    return event_dict


def _set_missing(event_dict: MutableMapping[str, object], key: str, value: str | None) -> None:
    if value is not None and event_dict.get(key) is None:
        event_dict[key] = value


class _StructlogHandler(logging.StreamHandler[TextIO]):
    """Marks the root handler installed here, so configuring again replaces it instead of doubling every line."""


class _NamedWriteLogger(structlog.WriteLogger):
    """A ``WriteLogger`` that knows its name, so ``add_logger_name`` works without the stdlib."""

    def __init__(self, name: str) -> None:
        super().__init__(sys.stderr)
        self.name = name


def _named_stderr_logger(*args: object) -> _NamedWriteLogger:
    return _NamedWriteLogger(str(args[0]) if args else "")


def configure_logging(*, json: bool, level: str = "INFO") -> None:
    """Configure structlog and the root logger; safe to call again (tests, CLI commands).

    Loggers are not cached on first use: a cached logger would ignore a later configuration (and
    ``structlog.testing.capture_logs``), and the saved lookup is not worth that surprise.
    """
    numeric_level = _LEVELS.get(level.upper())
    if numeric_level is None:
        raise ValueError(f"unknown log level {level!r}; use one of {', '.join(sorted(_LEVELS))}")
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        add_request_context,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor
    if json:
        renderer = structlog.processors.JSONRenderer()
        finishing: list[Processor] = [structlog.processors.dict_tracebacks, renderer]
    else:
        # Plain tracebacks: the rich default renders local variables (connection objects, tokens) into the log
        # and takes long enough to stall the event loop.
        renderer = structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
        finishing = [renderer]
    # structlog's own lines (the access log, one per request) skip the stdlib round trip, which cost more than
    # rendering the line: a level-filtering logger writes straight to stderr.
    structlog.configure(
        processors=[*shared, *finishing],
        logger_factory=_named_stderr_logger,
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        cache_logger_on_first_use=False,
    )
    handler = _StructlogHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *finishing],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _StructlogHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric_level)
