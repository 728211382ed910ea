"""Product DTOs: the same rules as the aggregate, partial updates, and the v2 response shape."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from shop.catalog.application import (
    MoneyOut,
    ProductCreate,
    ProductCreateV2,
    ProductOut,
    ProductOutV2,
    ProductUpdate,
    ProductUpdateV2,
)
from shop.catalog.domain import ProductId

pytestmark = pytest.mark.unit


def test_create_defaults() -> None:
    data = ProductCreate(sku="MUG-001", name="Mug", price=Decimal("9.90"))

    assert (data.currency, data.stock, data.active, data.description) == ("EUR", 0, True, None)


@pytest.mark.parametrize(
    "changes",
    [{"sku": "mug"}, {"price": "1.234"}, {"currency": "eur"}, {"stock": -1}, {"unknown": 1}, {"name": ""}],
)
def test_create_refuses_what_the_aggregate_would(changes: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ProductCreate.model_validate({"sku": "MUG-001", "name": "Mug", "price": "9.90", **changes})


def test_update_keeps_only_the_fields_sent() -> None:
    update = ProductUpdate.model_validate({"price": "12.00", "description": None})

    assert update.model_dump(exclude_unset=True) == {"price": Decimal("12.00"), "description": None}


@pytest.mark.parametrize("field", ["sku", "name", "price", "currency", "stock", "active"])
def test_update_refuses_null_for_required_fields(field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        ProductUpdate.model_validate({field: None})


def test_update_forbids_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        ProductUpdate.model_validate({"version": 3})


def test_v2_is_derived_from_v1() -> None:
    now = datetime(2025, 1, 2, tzinfo=UTC)
    v1 = ProductOut(
        id=ProductId.new(),
        sku="MUG-001",
        name="Mug",
        description="500 ml",
        price=Decimal("9.90"),
        currency="EUR",
        stock=3,
        active=True,
        version=4,
        created_at=now,
        updated_at=now,
        created_by="alice",
        updated_by="bob",
    )

    v2 = ProductOutV2.from_v1(v1)

    assert v2.price == MoneyOut(amount=Decimal("9.90"), currency="EUR")
    assert v2.version == 4
    dumped = v2.model_dump(mode="json")
    assert dumped["description"] == "500 ml"
    assert "currency" not in dumped
    assert dumped["price"] == {"amount": "9.90", "currency": "EUR"}
    assert dumped["id"] == str(v1.id)
    assert (dumped["created_by"], dumped["updated_by"]) == ("alice", "bob")


def test_v2_takes_the_price_as_the_money_object_it_shows() -> None:
    money = {"amount": "9.90", "currency": "USD"}

    created = ProductCreateV2.model_validate({"sku": "MUG-001", "name": "Mug", "price": money}).to_v1()
    edited = ProductUpdateV2.model_validate({"price": money}).to_v1()

    assert (created.price, created.currency, created.description, created.stock) == (Decimal("9.90"), "USD", None, 0)
    assert created.model_fields_set >= {"sku", "name", "price", "currency"}
    assert (edited.price, edited.currency, edited.model_fields_set) == (Decimal("9.90"), "USD", {"price", "currency"})


@pytest.mark.parametrize(
    "price",
    [
        "9.90",
        9.9,
        {"amount": "9.90"},
        {"currency": "EUR"},
        {"amount": "-1", "currency": "EUR"},
        {"amount": "1", "currency": "eur"},
    ],
)
def test_v2_refuses_a_flat_price_or_half_a_money_object(price: object) -> None:
    with pytest.raises(ValidationError):
        ProductCreateV2.model_validate({"sku": "MUG-001", "name": "Mug", "price": price})
    with pytest.raises(ValidationError):
        ProductUpdateV2.model_validate({"price": price})


def test_a_v2_edit_changes_only_what_was_sent() -> None:
    edited = ProductUpdateV2.model_validate({"name": "Cup", "description": None}).to_v1()

    assert edited.model_fields_set == {"name", "description"}
    assert (edited.name, edited.description, edited.price) == ("Cup", None, None)
    with pytest.raises(ValidationError, match="cannot be null: price"):
        ProductUpdateV2.model_validate({"price": None})


def test_descriptions_are_sanitised_on_the_way_in() -> None:
    body = {
        "sku": "MUG-001",
        "name": "Mug",
        "price": "9.90",
        "description": "<img src=x onerror=alert(1)><i>500</i> ml",
    }

    assert ProductCreate.model_validate(body).description == "<i>500</i> ml"
    assert ProductUpdate.model_validate({"description": "<script>x</script>ok"}).description == "ok"
    assert ProductUpdate.model_validate({"description": None}).description is None


def test_the_description_schema_says_html_and_bounds_it() -> None:
    schema = ProductCreate.model_json_schema()

    assert schema["$defs"]["Description"] == {"contentMediaType": "text/html", "maxLength": 2000, "type": "string"}
