"""Value objects: compared by value, immutable, hashable, no unknown fields."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from apibase.domain.value_objects import BaseValueObject

pytestmark = pytest.mark.unit


class Money(BaseValueObject):
    amount: Decimal
    currency: str


class Address(BaseValueObject):
    street: str
    city: str


class Place(BaseValueObject):
    name: str
    address: Address


def test_equal_by_value() -> None:
    assert Money(amount=Decimal("1.50"), currency="EUR") == Money(amount=Decimal("1.50"), currency="EUR")
    assert Money(amount=Decimal("1.50"), currency="EUR") != Money(amount=Decimal("1.50"), currency="USD")
    assert Money(amount=Decimal("1.50"), currency="EUR") != Money(amount=Decimal(2), currency="EUR")


def test_nested_value_objects_compare_by_value() -> None:
    first = Place(name="HQ", address=Address(street="Main 1", city="Oslo"))
    second = Place(name="HQ", address=Address(street="Main 1", city="Oslo"))
    assert first == second
    assert hash(first) == hash(second)
    assert first != Place(name="HQ", address=Address(street="Main 2", city="Oslo"))


def test_frozen() -> None:
    money = Money(amount=Decimal(1), currency="EUR")
    with pytest.raises(ValidationError, match="frozen"):
        money.currency = "USD"  # type: ignore[misc]


def test_updates_make_a_new_object() -> None:
    money = Money(amount=Decimal(1), currency="EUR")
    changed = money.model_copy(update={"currency": "USD"})
    assert money.currency == "EUR"
    assert changed.currency == "USD"


def test_hashable_and_usable_in_sets() -> None:
    prices = {
        Money(amount=Decimal(1), currency="EUR"),
        Money(amount=Decimal(1), currency="EUR"),
        Money(amount=Decimal(1), currency="USD"),
    }
    assert len(prices) == 2
    assert {Money(amount=Decimal(1), currency="EUR"): "one euro"}[Money(amount=Decimal(1), currency="EUR")]


@given(amount=st.decimals(allow_nan=False, allow_infinity=False), currency=st.text(max_size=3))
def test_equal_values_give_equal_objects_and_hashes(amount: Decimal, currency: str) -> None:
    first, second = Money(amount=amount, currency=currency), Money(amount=amount, currency=currency)
    assert first == second
    assert hash(first) == hash(second)


def test_extra_fields_are_forbidden() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        Money(amount=Decimal(1), currency="EUR", rate=2)  # type: ignore[call-arg]


def test_values_are_validated_on_construction() -> None:
    assert Money.model_validate({"amount": "1.25", "currency": "EUR"}).amount == Decimal("1.25")
    with pytest.raises(ValidationError):
        Money.model_validate({"amount": "one", "currency": "EUR"})
    with pytest.raises(ValidationError):
        Money.model_validate({"amount": "1"})
