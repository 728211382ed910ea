"""The Result round-trip helper passes real round trips and catches lossy ones."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apibase.core.errors import NotFoundError
from apibase.core.result import Err, Ok
from apibase.testing.roundtrip import assert_result_round_trips
from apibase.testing.widgets import WidgetCreate

pytestmark = pytest.mark.unit


def test_round_trips_of_models_and_errors_pass() -> None:
    assert_result_round_trips(Ok(WidgetCreate(name="a", price=Decimal("1.50"))), value_type=WidgetCreate)
    assert_result_round_trips(Err(NotFoundError("gone")), error_type=NotFoundError)
    assert_result_round_trips(Ok({"a": [1, 2]}))


def test_a_lossy_round_trip_fails() -> None:
    with pytest.raises(AssertionError, match="came back as"):
        assert_result_round_trips(Ok(Decimal("1.5")))
