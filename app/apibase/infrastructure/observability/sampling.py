"""The service's sampler: the SDK's ``ParentBasedTraceIdRatio``, deciding a child span in one step.

Every span of a request but the server span has a parent, and ``ParentBased`` answers for it through a delegate
(``ALWAYS_ON`` or ``ALWAYS_OFF``), which looks the parent up in the context a second time to copy its trace state:
about 1.9 µs per span, measured in process, four or more spans per request. ``LeanParentBasedTraceIdRatio`` makes
the same decision with the parent it has already found (a sampled parent's children are recorded and sampled with
the attributes given, an unsampled parent's are dropped without them, both keep the parent's trace state), and
leaves root spans to the ratio as before. It is only that because the delegates are the SDK's defaults: the class
takes no others.

Code that makes child spans may rely on it (``drops_children_of_unsampled``): a child of an unsampled parent is
never recorded, so its attributes need not be computed at all.

Public API: ``LeanParentBasedTraceIdRatio(rate)``, ``drops_children_of_unsampled(sampler) -> bool``.
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import Decision, ParentBasedTraceIdRatio, SamplingResult
from opentelemetry.trace import Link, SpanKind, TraceState, get_current_span
from opentelemetry.util.types import Attributes

__all__ = ["LeanParentBasedTraceIdRatio", "drops_children_of_unsampled"]


class LeanParentBasedTraceIdRatio(ParentBasedTraceIdRatio):
    """``ParentBasedTraceIdRatio(rate)``: the parent's decision for a child span, the trace id ratio for a root."""

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        parent = get_current_span(parent_context).get_span_context()
        if parent is None or not parent.is_valid:
            return super().should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)
        if parent.trace_flags.sampled:  # ALWAYS_ON, for a remote and a local parent alike
            return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes, parent.trace_state)
        return SamplingResult(Decision.DROP, None, parent.trace_state)  # ALWAYS_OFF


def drops_children_of_unsampled(sampler: object) -> bool:
    """True for a sampler known never to record a span whose parent (local or remote) was not sampled."""
    return isinstance(sampler, LeanParentBasedTraceIdRatio)
