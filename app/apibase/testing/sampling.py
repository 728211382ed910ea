"""A sampler for tests of span-making code: keeps every span and remembers which attributes each decision saw.

OpenTelemetry lets a sampler decide from the attributes given at span start; code that sets them only later
(to save work on spans that do not record) must still produce them on the span. Tests compare both views.
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind, TraceState
from opentelemetry.util.types import Attributes

__all__ = ["AttributeWitness"]


class AttributeWitness(Sampler):
    """Records and samples every span; ``seen`` holds the attributes offered to each sampling decision."""

    def __init__(self) -> None:
        self.seen: list[dict[str, object]] = []

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
        self.seen.append(dict(attributes or {}))
        return SamplingResult(Decision.RECORD_AND_SAMPLE)  # no attributes: the span's must still be set

    def get_description(self) -> str:
        return "attribute witness"
