"""Failure classifiers: an explicit allowlist per dependency; refusals, bugs and busy pools never count."""

from __future__ import annotations

import pytest
import redis.exceptions
from sqlalchemy import exc as sa

from apibase.application.ports.secrets import SecretsUnavailable
from apibase.core.errors import (
    ConcurrencyConflict,
    DependencyTimeout,
    DependencyUnavailable,
    EntityNotFound,
    PersistenceError,
    ValidationFailed,
)
from apibase.infrastructure.resilience import database_failure, infrastructure_failure, standard_policies

pytestmark = pytest.mark.unit


def dbapi(kind: type[sa.DBAPIError], *, invalidated: bool = False) -> sa.DBAPIError:
    return kind("SELECT 1", None, Exception("driver"), connection_invalidated=invalidated)


@pytest.mark.parametrize(
    "error",
    [ConnectionRefusedError(), OSError("no route"), TimeoutError(), DependencyUnavailable("x"), DependencyTimeout("x")],
)
def test_infrastructure_failures_count(error: BaseException) -> None:
    assert infrastructure_failure(error)


@pytest.mark.parametrize(
    "error",
    [ValueError(), EntityNotFound("x"), ValidationFailed("x"), ConcurrencyConflict("x"), PersistenceError("x")],
)
def test_everything_else_does_not(error: BaseException) -> None:
    assert not infrastructure_failure(error)


@pytest.mark.parametrize(
    "error",
    [
        dbapi(sa.OperationalError),
        dbapi(sa.InterfaceError),
        dbapi(sa.DBAPIError, invalidated=True),
        dbapi(sa.IntegrityError, invalidated=True),
        ConnectionRefusedError(),
        TimeoutError(),
    ],
)
def test_database_connection_failures_count(error: BaseException) -> None:
    assert database_failure(error)


@pytest.mark.parametrize(
    "error",
    [
        dbapi(sa.DBAPIError),
        dbapi(sa.IntegrityError),
        dbapi(sa.ProgrammingError),
        sa.TimeoutError("QueuePool limit reached"),  # a busy pool is back-pressure, not a dead database
        EntityNotFound("x"),
        ConcurrencyConflict("x"),
        ValueError(),
    ],
)
def test_database_answers_and_busy_pools_do_not(error: BaseException) -> None:
    assert not database_failure(error)


def test_the_standard_policies_know_their_adapters_errors() -> None:
    policies = standard_policies(failure_threshold=2, recovery_timeout_seconds=5)
    assert policies["redis"].is_failure(redis.exceptions.ConnectionError())
    assert policies["redis"].is_failure(redis.exceptions.TimeoutError())
    assert not policies["redis"].is_failure(redis.exceptions.ResponseError("WRONGTYPE"))
    assert policies["vault"].is_failure(SecretsUnavailable("sealed"))
    assert not policies["database"].is_failure(SecretsUnavailable("sealed"))
    assert policies["jwks"].is_failure(DependencyUnavailable("jwks"))
    assert {(p.failure_threshold, p.recovery_timeout_seconds) for p in policies.values()} == {(2, 5)}
