"""The retry schedule of the RabbitMQ consumer: exponential, capped, whole milliseconds."""

from __future__ import annotations

import pytest

from apibase.infrastructure.events.transports.rabbitmq.consumer import RetryPolicy

pytestmark = pytest.mark.unit


def test_the_delay_doubles_per_attempt_up_to_the_maximum() -> None:
    policy = RetryPolicy(max_attempts=10, base_seconds=0.5, max_seconds=3)
    assert [policy.delay_ms(attempt) for attempt in range(1, 6)] == [500, 1000, 2000, 3000, 3000]


def test_huge_attempt_numbers_and_tiny_bases_stay_in_range() -> None:
    policy = RetryPolicy(max_attempts=1000, base_seconds=0.0001, max_seconds=60)
    assert policy.delay_ms(1) == 1
    assert policy.delay_ms(999) == 60_000
