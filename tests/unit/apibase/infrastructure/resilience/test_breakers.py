"""CircuitBreakers: the state machine per dependency, explicit failure classification, independence, states()."""

from __future__ import annotations

import asyncio

import pytest

from apibase.core.errors import DependencyTimeout, DependencyUnavailable, EntityNotFound, ValidationFailed
from apibase.infrastructure.resilience import BreakerPolicy, CircuitBreakers, CircuitOpenError, failure_on

pytestmark = pytest.mark.unit

# purgatory reads time.time() itself and takes no clock, so the recovery timeout is real but short.
TIMEOUT = 0.2


def breakers(threshold: int = 3, **extra: BreakerPolicy) -> CircuitBreakers:
    policy = BreakerPolicy(failure_threshold=threshold, recovery_timeout_seconds=TIMEOUT)
    return CircuitBreakers({"database": policy, "redis": policy, **extra})


async def fail(registry: CircuitBreakers, name: str, error: BaseException) -> None:
    with pytest.raises(type(error)):
        async with registry.guard(name):
            raise error


async def succeed(registry: CircuitBreakers, name: str) -> bool:
    async with registry.guard(name):
        return True


async def open_circuit(registry: CircuitBreakers, name: str, threshold: int = 3) -> None:
    for _ in range(threshold):
        await fail(registry, name, ConnectionRefusedError("refused"))


async def test_it_opens_after_the_threshold_and_then_refuses_without_running_the_block() -> None:
    registry = breakers()
    for _ in range(2):
        await fail(registry, "database", ConnectionRefusedError("refused"))
    assert registry.states()["database"] == "closed"

    await fail(registry, "database", TimeoutError())
    assert registry.states()["database"] == "open"

    ran = False
    with pytest.raises(CircuitOpenError) as refused:
        async with registry.guard("database"):
            ran = True
    assert not ran
    error = refused.value
    assert isinstance(error, DependencyUnavailable)
    assert (error.status, error.code.value, error.dependency) == (503, "resilience.circuit_open", "database")
    assert error.retry_after_seconds == 1  # ceil of the ~0.2 s left, never 0
    assert error.extensions == {"dependency": "database", "retry_after": 1}


async def test_the_retry_hint_counts_the_seconds_until_half_open() -> None:
    registry = CircuitBreakers({"vault": BreakerPolicy(failure_threshold=1, recovery_timeout_seconds=30)})
    await fail(registry, "vault", DependencyUnavailable("down"))
    with pytest.raises(CircuitOpenError) as refused:
        await succeed(registry, "vault")
    assert refused.value.retry_after_seconds in (29, 30)


async def test_half_open_after_the_timeout_and_a_success_closes_it() -> None:
    registry = breakers()
    await open_circuit(registry, "database")
    await asyncio.sleep(TIMEOUT + 0.05)
    assert registry.states()["database"] == "half-open"

    assert await succeed(registry, "database")
    assert registry.states()["database"] == "closed"
    # closed again means a fresh count: it takes the full threshold to open it once more
    for _ in range(2):
        await fail(registry, "database", ConnectionResetError())
    assert registry.states()["database"] == "closed"


async def test_a_failure_while_half_open_opens_it_again_at_once() -> None:
    registry = breakers()
    await open_circuit(registry, "database")
    await asyncio.sleep(TIMEOUT + 0.05)

    await fail(registry, "database", DependencyTimeout("slow"))
    assert registry.states()["database"] == "open"
    with pytest.raises(CircuitOpenError):
        await succeed(registry, "database")


async def test_domain_and_validation_errors_never_count_and_pass_through_unchanged() -> None:
    registry = breakers(threshold=2)
    for error in (EntityNotFound("gone"), ValidationFailed("bad"), ValueError("bug"), KeyError("bug")) * 3:
        await fail(registry, "database", error)
    assert registry.states()["database"] == "closed"


async def test_only_consecutive_failures_open_it() -> None:
    registry = breakers()
    for _ in range(3):
        await fail(registry, "database", ConnectionRefusedError())
        await fail(registry, "database", ConnectionRefusedError())
        assert await succeed(registry, "database")
    assert registry.states()["database"] == "closed"


async def test_an_open_breaker_does_not_affect_another_dependency() -> None:
    registry = breakers()
    await open_circuit(registry, "redis")

    assert await succeed(registry, "database")
    assert registry.states() == {"database": "closed", "redis": "open"}
    with pytest.raises(CircuitOpenError) as refused:
        await succeed(registry, "redis")
    assert refused.value.dependency == "redis"


async def test_classification_is_per_breaker() -> None:
    strict = BreakerPolicy(failure_threshold=1, recovery_timeout_seconds=TIMEOUT, is_failure=failure_on(KeyError))
    registry = breakers(threshold=1, jwks=strict)

    await fail(registry, "jwks", ConnectionRefusedError())  # not in this breaker's list
    assert registry.states()["jwks"] == "closed"
    await fail(registry, "jwks", KeyError("kid"))
    assert registry.states()["jwks"] == "open"
    await fail(registry, "database", KeyError("kid"))  # the default list does not name KeyError
    assert registry.states()["database"] == "closed"


async def test_cancellation_gives_no_verdict() -> None:
    registry = breakers()
    for _ in range(2):
        await fail(registry, "database", ConnectionRefusedError())
    await fail(registry, "database", asyncio.CancelledError())  # would reset the count if it were a success
    await fail(registry, "database", ConnectionRefusedError())
    assert registry.states()["database"] == "open"


async def test_another_breakers_refusal_inside_the_block_does_not_count() -> None:
    registry = breakers(threshold=1)
    await open_circuit(registry, "redis", threshold=1)
    for _ in range(3):
        with pytest.raises(CircuitOpenError):
            async with registry.guard("database"):
                await succeed(registry, "redis")
    assert registry.states()["database"] == "closed"


async def test_concurrent_calls_share_one_breaker() -> None:
    registry = breakers(threshold=5)

    async def call() -> None:
        await fail(registry, "database", ConnectionRefusedError())

    await asyncio.gather(*(call() for _ in range(5)))
    assert registry.states()["database"] == "open"


def test_unknown_names_are_wiring_mistakes() -> None:
    registry = breakers()
    with pytest.raises(KeyError, match="databse"):
        registry.guard("databse")


async def test_a_guard_exited_without_being_entered_is_a_bug() -> None:
    with pytest.raises(RuntimeError, match="not entered"):
        await breakers().guard("database").__aexit__(None, None, None)


def test_the_default_registry_covers_the_base_dependencies_with_5_failures_and_30_seconds() -> None:
    registry = CircuitBreakers()
    assert registry.names == {"database", "redis", "vault", "jwks"}
    for name in registry.names:
        policy = registry.policy(name)
        assert (policy.failure_threshold, policy.recovery_timeout_seconds) == (5, 30.0)
    assert registry.states() == dict.fromkeys(sorted(registry.names), "closed")


@pytest.mark.parametrize(("threshold", "timeout"), [(0, 1.0), (1, 0.0), (1, -1.0)])
def test_policies_refuse_nonsense(threshold: int, timeout: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        BreakerPolicy(failure_threshold=threshold, recovery_timeout_seconds=timeout)
