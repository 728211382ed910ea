"""The product aggregate: field rules, pricing and availability events, selling and restocking."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from shop.catalog.domain import (
    MAX_STOCK,
    CatalogErrorCode,
    InsufficientStock,
    InvalidStockQuantity,
    Product,
    ProductActivated,
    ProductDeactivated,
    ProductId,
    ProductInactive,
    ProductOutOfStock,
    ProductPriceChanged,
    StockLimitExceeded,
)

pytestmark = pytest.mark.unit


def make_product(**overrides: object) -> Product:
    values: dict[str, object] = {
        "id": ProductId.new(),
        "sku": "MUG-001",
        "name": "Mug",
        "price": Decimal("9.90"),
        "stock": 10,
    }
    values.update(overrides)
    return Product.model_validate(values)


def test_defaults() -> None:
    product = make_product()

    assert (product.currency, product.active, product.description, product.version) == ("EUR", True, None, 1)
    assert product.pending_events == ()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sku", "ab"),
        ("sku", "mug-001"),
        ("sku", "A" * 33),
        ("sku", "MUG 001"),
        ("name", ""),
        ("name", "x" * 201),
        ("description", "x" * 2001),
        ("price", Decimal("-0.01")),
        ("price", Decimal("1.001")),
        ("price", Decimal("12345678901.00")),
        ("currency", "eur"),
        ("currency", "EURO"),
        ("stock", -1),
        ("stock", MAX_STOCK + 1),
    ],
)
def test_field_rules(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        make_product(**{field: value})


def test_the_largest_valid_values_are_accepted() -> None:
    product = make_product(sku="A" * 32, price=Decimal("9999999999.99"), stock=MAX_STOCK, description="x" * 2000)

    assert product.price == Decimal("9999999999.99")


XSS = '<p onclick="steal()">Big <b>mug</b><script>alert(1)</script> <a href="javascript:alert(1)">x</a></p>'
SAFE = '<p>Big <b>mug</b> <a rel="noopener noreferrer">x</a></p>'


def test_the_description_is_sanitised_html_however_the_product_is_built() -> None:
    built = make_product(description=XSS)
    assigned = make_product()
    assigned.description = XSS
    revised = make_product()
    revised.revise({"description": XSS})

    assert built.description == assigned.description == revised.description == SAFE


def test_a_stored_description_survives_reloading_unchanged() -> None:
    product = make_product(description=XSS)

    assert Product.model_validate(product.model_dump()).description == SAFE


def test_the_description_limit_applies_to_what_is_stored() -> None:
    with pytest.raises(ValidationError, match="at most 2000"):
        make_product(description="&" * 1000)  # 1000 characters in, 5000 once escaped


def test_change_price_records_old_and_new_price() -> None:
    product = make_product()

    product.change_price(Decimal("12.50"))

    assert product.price == Decimal("12.50")
    (event,) = product.pull_events()
    assert isinstance(event, ProductPriceChanged)
    assert (event.old_price, event.new_price, event.old_currency, event.new_currency) == (
        Decimal("9.90"),
        Decimal("12.50"),
        "EUR",
        "EUR",
    )
    assert (event.aggregate_id, event.sku) == (str(product.id), "MUG-001")


def test_a_currency_change_alone_is_a_price_change() -> None:
    product = make_product()

    product.change_price(Decimal("9.90"), "USD")

    (event,) = product.pull_events()
    assert isinstance(event, ProductPriceChanged)
    assert (event.old_currency, event.new_currency) == ("EUR", "USD")


def test_the_same_price_records_nothing() -> None:
    product = make_product()

    product.change_price(Decimal("9.9"), "EUR")

    assert product.pending_events == ()


def test_an_invalid_price_changes_nothing() -> None:
    product = make_product()

    with pytest.raises(ValidationError):
        product.change_price(Decimal(-1))

    assert product.price == Decimal("9.90")
    assert product.pending_events == ()


def test_deactivate_and_activate_record_each_change_once() -> None:
    product = make_product()

    product.deactivate()
    product.deactivate()
    product.activate()
    product.activate()

    assert [type(event) for event in product.pull_events()] == [ProductDeactivated, ProductActivated]
    assert product.active


def test_withdraw_stock() -> None:
    product = make_product(stock=5)

    product.withdraw_stock(3)

    assert product.stock == 2
    assert product.pending_events == ()


def test_selling_the_last_unit_records_out_of_stock() -> None:
    product = make_product(stock=2)

    product.withdraw_stock(2)

    assert product.stock == 0
    assert [type(event) for event in product.pull_events()] == [ProductOutOfStock]


def test_insufficient_stock_is_refused_with_the_numbers() -> None:
    product = make_product(stock=2)

    with pytest.raises(InsufficientStock) as raised:
        product.withdraw_stock(3)

    assert product.stock == 2
    assert raised.value.code is CatalogErrorCode.INSUFFICIENT_STOCK
    assert raised.value.status == 409
    assert raised.value.extensions == {"sku": "MUG-001", "available": 2, "requested": 3}


def test_an_inactive_product_cannot_be_sold() -> None:
    product = make_product(active=False)

    with pytest.raises(ProductInactive) as raised:
        product.withdraw_stock(1)

    assert product.stock == 10
    assert (raised.value.status, raised.value.code) == (409, CatalogErrorCode.PRODUCT_INACTIVE)


@pytest.mark.parametrize("quantity", [0, -1])
def test_stock_moves_by_at_least_one_unit(quantity: int) -> None:
    product = make_product()

    with pytest.raises(InvalidStockQuantity) as raised:
        product.withdraw_stock(quantity)
    with pytest.raises(InvalidStockQuantity):
        product.restock(quantity)

    assert raised.value.status == 422


def test_restock_works_on_inactive_products_too() -> None:
    product = make_product(active=False, stock=0)

    product.restock(4)

    assert product.stock == 4


def test_restock_refuses_to_exceed_the_limit() -> None:
    product = make_product(stock=MAX_STOCK - 1)

    product.restock(1)
    with pytest.raises(StockLimitExceeded) as raised:
        product.restock(1)

    assert product.stock == MAX_STOCK
    assert (raised.value.status, raised.value.code) == (422, CatalogErrorCode.STOCK_LIMIT_EXCEEDED)


def test_revise_goes_through_the_domain_methods() -> None:
    product = make_product()

    product.revise({"name": "Big mug", "price": Decimal("11.00"), "active": False, "description": "500 ml"})

    assert (product.name, product.price, product.active, product.description) == (
        "Big mug",
        Decimal("11.00"),
        False,
        "500 ml",
    )
    assert [type(event) for event in product.pull_events()] == [ProductPriceChanged, ProductDeactivated]


def test_revise_can_reactivate_and_clear_the_description() -> None:
    product = make_product(active=False, description="old")

    product.revise({"active": True, "description": None})

    assert product.active
    assert product.description is None
    assert [type(event) for event in product.pull_events()] == [ProductActivated]


def test_revise_is_all_or_nothing() -> None:
    product = make_product()

    with pytest.raises(ValidationError):
        product.revise({"price": Decimal("20.00"), "name": ""})

    assert (product.price, product.name) == (Decimal("9.90"), "Mug")
    assert product.pending_events == ()


def test_revise_refuses_fields_that_are_not_editable() -> None:
    product = make_product()

    with pytest.raises(ValueError, match="version"):
        product.revise({"version": 7})
