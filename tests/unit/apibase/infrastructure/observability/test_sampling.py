"""``LeanParentBasedTraceIdRatio`` decides as ``ParentBasedTraceIdRatio`` does, for every kind of parent."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_ON,
    ParentBased,
    ParentBasedTraceIdRatio,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags, TraceState

from apibase.infrastructure.observability.sampling import LeanParentBasedTraceIdRatio, drops_children_of_unsampled

pytestmark = pytest.mark.unit

STATE = TraceState([("vendor", "value")])


def _parent(*, remote: bool, sampled: bool, state: TraceState | None = STATE) -> Context:
    flags = TraceFlags(TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT)
    context = SpanContext(0xABC, 0xDEF, is_remote=remote, trace_flags=flags, trace_state=state)
    return trace.set_span_in_context(NonRecordingSpan(context))


PARENTS: dict[str, Context | None] = {
    "none": None,
    "empty context": Context(),
    "invalid span": trace.set_span_in_context(trace.INVALID_SPAN),
    "local sampled": _parent(remote=False, sampled=True),
    "local unsampled": _parent(remote=False, sampled=False),
    "remote sampled": _parent(remote=True, sampled=True),
    "remote unsampled": _parent(remote=True, sampled=False),
    "no trace state": _parent(remote=False, sampled=True, state=None),
}


def _result(result: SamplingResult) -> tuple[object, ...]:
    return result.decision, dict(result.attributes), result.trace_state


@pytest.mark.parametrize("rate", [0.0, 0.25, 1.0])
@pytest.mark.parametrize("parent", PARENTS)
@pytest.mark.parametrize("attributes", [None, {"db.statement": "SELECT 1"}])
def test_the_decision_is_parent_based_trace_id_ratios(
    rate: float, parent: str, attributes: dict[str, str] | None
) -> None:
    ours, theirs = LeanParentBasedTraceIdRatio(rate), ParentBased(TraceIdRatioBased(rate))
    for trace_id in (1, 2**62, 2**64 - 1, 2**128 - 1):
        arguments = (PARENTS[parent], trace_id, "span", SpanKind.INTERNAL, attributes)
        assert _result(ours.should_sample(*arguments)) == _result(theirs.should_sample(*arguments))
    assert ours.get_description() == ParentBasedTraceIdRatio(rate).get_description()  # type: ignore[no-untyped-call]


def test_only_it_is_known_to_drop_the_children_of_an_unsampled_parent() -> None:
    assert drops_children_of_unsampled(LeanParentBasedTraceIdRatio(1.0))
    assert not drops_children_of_unsampled(ParentBased(TraceIdRatioBased(1.0)))
    assert not drops_children_of_unsampled(ParentBased(ALWAYS_ON, local_parent_not_sampled=ALWAYS_ON))
    assert not drops_children_of_unsampled(None)
