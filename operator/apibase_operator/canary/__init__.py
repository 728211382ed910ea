"""Progressive delivery: a pure canary state machine and the Prometheus analysis that gates each step."""

from __future__ import annotations

from apibase_operator.canary.analysis import AnalysisReason, AnalysisResult, PrometheusAnalysis
from apibase_operator.canary.progression import (
    CanaryAction,
    CanaryDecision,
    CanaryReason,
    CanaryStatus,
    ConditionUpdate,
    next_canary_state,
)

__all__ = [
    "AnalysisReason",
    "AnalysisResult",
    "CanaryAction",
    "CanaryDecision",
    "CanaryReason",
    "CanaryStatus",
    "ConditionUpdate",
    "PrometheusAnalysis",
    "next_canary_state",
]
