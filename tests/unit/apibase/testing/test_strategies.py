"""The shared Hypothesis strategies produce valid values of the promised shapes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apibase.core.result import Err, Ok, Result
from apibase.testing.strategies import prices, results, widget_creates, widgets
from apibase.testing.widgets import Widget, WidgetCreate

pytestmark = pytest.mark.unit


@given(results(st.integers(), st.text()))
def test_results_are_ok_or_err(result: Result[int, str]) -> None:
    match result:
        case Ok(value):
            assert isinstance(value, int)
        case Err(error):
            assert isinstance(error, str)


@given(prices())
def test_prices_have_two_decimal_places(price: object) -> None:
    assert Widget.model_fields["price"].annotation is not None
    WidgetCreate(name="x", price=price)  # type: ignore[arg-type]


@given(widget_creates(), widgets())
def test_widget_strategies_build_valid_models(create: WidgetCreate, widget: Widget) -> None:
    assert WidgetCreate.model_validate(create.model_dump()) == create
    assert Widget.model_validate(widget.model_dump()).model_dump() == widget.model_dump()
