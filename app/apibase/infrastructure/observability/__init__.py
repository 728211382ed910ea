"""Observability adapters: structured logging (structlog) configured once by the composition root."""

from apibase.infrastructure.observability.logging import add_request_context, configure_logging

__all__ = ["add_request_context", "configure_logging"]
