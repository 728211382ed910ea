"""Domain events on the wire: CloudEvents 1.0 envelopes that carry the trace context and correlation id.

Public API: ``to_cloud_event``, ``trace_context_of``, ``correlation_id_of``, ``continue_trace``,
``MessageSink``, ``InMemoryMessageSink``, ``FanOutPublisher``.
"""

from __future__ import annotations

from apibase.infrastructure.messaging.cloud_events import (
    CORRELATION_ATTRIBUTE,
    EVENT_TYPE_PREFIX,
    TENANT_ATTRIBUTE,
    cloud_event_type,
    continue_trace,
    correlation_id_of,
    tenant_of,
    to_cloud_event,
    trace_context_of,
)
from apibase.infrastructure.messaging.fan_out import FanOutPublisher
from apibase.infrastructure.messaging.publisher import InMemoryMessageSink, MessageSink

__all__ = [
    "CORRELATION_ATTRIBUTE",
    "EVENT_TYPE_PREFIX",
    "TENANT_ATTRIBUTE",
    "FanOutPublisher",
    "InMemoryMessageSink",
    "MessageSink",
    "cloud_event_type",
    "continue_trace",
    "correlation_id_of",
    "tenant_of",
    "to_cloud_event",
    "trace_context_of",
]
