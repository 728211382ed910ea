"""Resilience adapters: per-dependency circuit breakers and the guarded SQL unit of work."""

from __future__ import annotations

from apibase.infrastructure.resilience.breakers import BreakerGuard, BreakerState, CircuitBreakers
from apibase.infrastructure.resilience.errors import CircuitOpenError, ResilienceErrorCode
from apibase.infrastructure.resilience.policies import (
    INFRASTRUCTURE_FAILURES,
    BreakerPolicy,
    FailureClassifier,
    database_failure,
    failure_on,
    infrastructure_failure,
    standard_policies,
)
from apibase.infrastructure.resilience.unit_of_work import GuardedSQLAlchemyUnitOfWork, guarded_sql_unit_of_work_factory

__all__ = [
    "INFRASTRUCTURE_FAILURES",
    "BreakerGuard",
    "BreakerPolicy",
    "BreakerState",
    "CircuitBreakers",
    "CircuitOpenError",
    "FailureClassifier",
    "GuardedSQLAlchemyUnitOfWork",
    "ResilienceErrorCode",
    "database_failure",
    "failure_on",
    "guarded_sql_unit_of_work_factory",
    "infrastructure_failure",
    "standard_policies",
]
