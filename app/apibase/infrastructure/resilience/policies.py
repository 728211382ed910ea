"""Which exceptions mean "the dependency is down", per breaker: an allowlist, so a bug or a refusal never trips one.

A domain or validation error proves the dependency answered; counting it would let bad requests take a healthy
dependency offline for everyone. Each breaker therefore names the exception types that count, explicitly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import redis.exceptions
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from apibase.application.ports.secrets import SecretsUnavailable
from apibase.core.errors import DependencyTimeout, DependencyUnavailable

__all__ = [
    "INFRASTRUCTURE_FAILURES",
    "BreakerPolicy",
    "FailureClassifier",
    "database_failure",
    "failure_on",
    "infrastructure_failure",
    "standard_policies",
]

type FailureClassifier = Callable[[BaseException], bool]

#: Unreachable or too slow: connection errors (``OSError``), timeouts and the base's own translated errors.
INFRASTRUCTURE_FAILURES: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    DependencyUnavailable,
    DependencyTimeout,
)


def failure_on(*types: type[BaseException]) -> FailureClassifier:
    """A classifier that counts exactly these exception types (and their subclasses) as failures."""

    def is_failure(exc: BaseException) -> bool:
        return isinstance(exc, types)

    return is_failure


infrastructure_failure: FailureClassifier = failure_on(*INFRASTRUCTURE_FAILURES)


def database_failure(exc: BaseException) -> bool:
    """Lost or refused connections, never a constraint violation, a bad statement or a pool that is merely busy.

    ``OperationalError``/``InterfaceError`` are the DB-API's "the database could not do it" families; any other
    ``DBAPIError`` counts only when SQLAlchemy found the connection dead (``connection_invalidated``). A pool
    checkout timeout (``sqlalchemy.exc.TimeoutError``) is local back-pressure and does not count: opening the
    circuit on a traffic spike would refuse every request to a healthy database.
    """
    if isinstance(exc, OperationalError | InterfaceError | OSError | TimeoutError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    """One breaker's settings: open after ``failure_threshold`` failures in a row, probe after the timeout."""

    failure_threshold: int = 5
    recovery_timeout_seconds: float = 30.0
    is_failure: FailureClassifier = infrastructure_failure

    def __post_init__(self) -> None:
        if self.failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if self.recovery_timeout_seconds <= 0:
            raise ValueError("recovery_timeout_seconds must be positive")


def standard_policies(
    failure_threshold: int = 5, recovery_timeout_seconds: float = 30.0
) -> Mapping[str, BreakerPolicy]:
    """The base's dependencies, each with the exceptions its adapter lets through when it is down."""

    def policy(is_failure: FailureClassifier) -> BreakerPolicy:
        return BreakerPolicy(failure_threshold, recovery_timeout_seconds, is_failure)

    return {
        "database": policy(database_failure),
        "redis": policy(
            failure_on(*INFRASTRUCTURE_FAILURES, redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
        ),
        "vault": policy(failure_on(*INFRASTRUCTURE_FAILURES, SecretsUnavailable)),
        "jwks": policy(infrastructure_failure),
    }
