from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from apibase.application.mapper import GenericMapper
from apibase.domain.entities import BaseEntity

pytestmark = pytest.mark.unit

MOMENT = datetime(2024, 5, 17, 12, 30, tzinfo=UTC)


# --- a flat entity ------------------------------------------------------------------------------------------


class Product(BaseEntity[int]):
    name: str
    price: Decimal
    tags: list[str] = Field(default_factory=list)


@dataclass
class ProductRow:
    id: int
    name: str
    price: Decimal
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None


class ProductOut(BaseModel):
    id: int
    name: str
    price: Decimal
    tags: list[str]
    is_deleted: bool


class LabelledProductOut(ProductOut):
    label: str


def _label(product: Product) -> str:
    return f"{product.name} ({product.price})"


class ProductMapper(GenericMapper[Product, ProductRow, ProductOut]):
    """Declared with generic arguments, no transforms."""


class LabelledProductMapper(GenericMapper[Product, ProductRow, LabelledProductOut]):
    response_transforms: ClassVar[Mapping[str, Callable[[Product], object]]] = {
        "label": _label,
        "name": lambda product: product.name.upper(),
    }


def make_product(product_id: int = 1, **changes: object) -> Product:
    values: dict[str, object] = {
        "id": product_id,
        "name": f"widget-{product_id}",
        "price": Decimal("9.99"),
        "tags": ["a", "b"],
        "created_at": MOMENT,
        "updated_at": MOMENT,
    }
    values.update(changes)
    return Product.model_validate(values)


# --- a nested aggregate -------------------------------------------------------------------------------------


class OrderLine(BaseEntity[int]):
    sku: str
    quantity: int


class Order(BaseEntity[int]):
    customer: str
    lines: list[OrderLine] = Field(default_factory=list)

    @property
    def total_quantity(self) -> int:
        return sum(line.quantity for line in self.lines)


@dataclass
class OrderLineRow:
    id: int
    sku: str
    quantity: int
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None


@dataclass
class OrderRow:
    id: int
    customer: str
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None
    lines: list[OrderLineRow] = field(default_factory=list)


class OrderLineOut(BaseModel):
    id: int
    sku: str
    quantity: int


class OrderOut(BaseModel):
    id: int
    customer: str
    lines: list[OrderLineOut]
    total_quantity: int


line_mapper = GenericMapper(entity=OrderLine, model=OrderLineRow, response=OrderLineOut)


class OrderMapper(GenericMapper[Order, OrderRow, OrderOut]):
    model_transforms: ClassVar[Mapping[str, Callable[[Order], object]]] = {
        "lines": lambda order: [line_mapper.to_model(line) for line in order.lines],
    }


def make_order() -> Order:
    return Order(
        id=7,
        customer="ada",
        created_at=MOMENT,
        updated_at=MOMENT,
        lines=[
            OrderLine(id=1, sku="A-1", quantity=2, created_at=MOMENT, updated_at=MOMENT),
            OrderLine(id=2, sku="B-2", quantity=3, created_at=MOMENT, updated_at=MOMENT),
        ],
    )


# --- declaring the types ------------------------------------------------------------------------------------


def test_class_declaration_reads_the_generic_arguments() -> None:
    mapper = ProductMapper()

    assert mapper.entity_type is Product
    assert mapper.model_type is ProductRow
    assert mapper.response_type is ProductOut


def test_constructor_declaration_takes_the_types_as_arguments() -> None:
    mapper = GenericMapper(entity=Product, model=ProductRow, response=ProductOut)
    product = make_product()

    assert mapper.entity_type is Product
    assert mapper.to_response(product) == ProductOut(
        id=1, name="widget-1", price=Decimal("9.99"), tags=["a", "b"], is_deleted=False
    )
    assert mapper.to_entity(mapper.to_model(product)).model_dump() == product.model_dump()


def test_constructor_arguments_override_the_declared_types() -> None:
    mapper = ProductMapper(response=LabelledProductOut, response_transforms={"label": _label})

    response = mapper.to_response(make_product())

    assert mapper.response_type is LabelledProductOut
    assert isinstance(response, LabelledProductOut)
    assert response.label == "widget-1 (9.99)"


def test_a_subclass_of_a_declared_mapper_inherits_its_types() -> None:
    class SpecialProductMapper(ProductMapper):
        pass

    assert SpecialProductMapper().response_type is ProductOut


class Tagged[T]:
    """An unrelated generic mixin: its arguments must not be mistaken for the mapper's."""


class Labelled[T]:
    """Another unrelated generic mixin."""


def test_other_generic_bases_are_ignored() -> None:
    class MixedMapper(Tagged[str], GenericMapper[Product, ProductRow, ProductOut]):
        pass

    class MixedSubclass(Labelled[int], MixedMapper):
        pass

    assert MixedMapper().entity_type is Product
    assert MixedSubclass().response_type is ProductOut


def test_an_intermediate_generic_mapper_passes_its_arguments_through() -> None:
    class ResponseFirstMapper[R: BaseModel, E: BaseModel, M](GenericMapper[E, M, R]):
        pass

    class HalfBound[M](ResponseFirstMapper[ProductOut, Product, M]):
        pass

    class FullyBound(HalfBound[ProductRow]):
        pass

    mapper = FullyBound()
    assert (mapper.entity_type, mapper.model_type, mapper.response_type) == (Product, ProductRow, ProductOut)
    with pytest.raises(TypeError, match="HalfBound has no model type"):
        HalfBound()
    assert HalfBound(model=ProductRow).model_type is ProductRow


def test_missing_types_are_refused() -> None:
    with pytest.raises(TypeError, match="GenericMapper has no entity type"):
        GenericMapper[Product, ProductRow, ProductOut]()


def test_entity_and_response_must_be_pydantic_models() -> None:
    with pytest.raises(TypeError, match="the entity type must be a pydantic model, got ProductRow"):
        GenericMapper(entity=ProductRow, model=ProductRow, response=ProductOut)  # type: ignore[type-var]
    with pytest.raises(TypeError, match="the response type must be a pydantic model"):
        GenericMapper(entity=Product, model=ProductRow, response=ProductRow)  # type: ignore[type-var]


# --- entity to response -------------------------------------------------------------------------------------


def test_to_response_maps_same_named_fields_and_properties() -> None:
    product = make_product(deleted_at=MOMENT)

    response = ProductMapper().to_response(product)

    assert response.model_dump() == {
        "id": 1,
        "name": "widget-1",
        "price": Decimal("9.99"),
        "tags": ["a", "b"],
        "is_deleted": True,
    }


def test_response_transforms_compute_fields_and_override_automatic_ones() -> None:
    response = LabelledProductMapper().to_response(make_product())

    assert response.label == "widget-1 (9.99)"
    assert response.name == "WIDGET-1"
    assert response.price == Decimal("9.99")
    assert response.is_deleted is False


def test_constructor_transforms_merge_over_class_transforms() -> None:
    mapper = LabelledProductMapper(response_transforms={"label": lambda product: "fixed"})

    response = mapper.to_response(make_product())

    assert (response.label, response.name) == ("fixed", "WIDGET-1")


def test_a_response_field_nobody_provides_fails_validation() -> None:
    mapper = GenericMapper(entity=Product, model=ProductRow, response=LabelledProductOut)

    with pytest.raises(ValidationError, match="label"):
        mapper.to_response(make_product())
    with pytest.raises(ValidationError, match="label"):
        mapper.to_dto_list([make_product()])


def test_transforms_see_missing_attributes_as_missing_fields() -> None:
    mapper = GenericMapper(
        entity=Product,
        model=ProductRow,
        response=LabelledProductOut,
        response_transforms={"name": lambda product: product.name},
    )

    with pytest.raises(ValidationError, match="label"):
        mapper.to_response(make_product())


def test_to_dto_list_without_transforms_matches_to_response() -> None:
    mapper = ProductMapper()
    products = [make_product(i) for i in range(5)]

    assert mapper.to_dto_list(products) == [mapper.to_response(product) for product in products]
    assert mapper.to_dto_list(product for product in products) == mapper.to_dto_list(products)
    assert mapper.to_dto_list([]) == []


def test_to_dto_list_with_transforms_matches_to_response() -> None:
    mapper = LabelledProductMapper()
    products = [make_product(i) for i in range(5)]

    dtos = mapper.to_dto_list(iter(products))

    assert dtos == [mapper.to_response(product) for product in products]
    assert [dto.label for dto in dtos] == [_label(product) for product in products]


def test_the_list_adapter_is_built_once_per_mapper() -> None:
    mapper = ProductMapper()
    mapper.to_dto_list([make_product()])
    adapter = mapper._response_list

    mapper.to_dto_list([make_product(2)])

    assert mapper._response_list is adapter
    assert ProductMapper()._response_list is not adapter


class ProductSummary(BaseModel):
    """Reads entity fields only, so the mapper may validate each entity's field dict directly."""

    id: int
    name: str
    price: Decimal


class LabelledSummary(ProductSummary):
    label: str


class StrictSummary(ProductSummary):
    model_config = ConfigDict(extra="forbid")


class AliasedSummary(BaseModel):
    id: int
    title: str = Field(alias="name")


class BeforeSummary(ProductSummary):
    seen: str = ""

    @model_validator(mode="before")
    @classmethod
    def _record_input_kind(cls, data: object) -> object:
        assert isinstance(data, Product), "the mapper must hand a before-validator the entity itself"
        return {**data.__dict__, "seen": type(data).__name__}


class AfterSummary(ProductSummary):
    @model_validator(mode="after")
    def _check(self) -> AfterSummary:
        return self


@pytest.mark.parametrize(
    ("response", "transforms", "fields_only"),
    [
        (ProductSummary, {}, True),
        (LabelledSummary, {"label": _label}, True),
        (AfterSummary, {}, True),
        (StrictSummary, {}, False),
        (LabelledProductOut, {"label": _label}, False),
        (ProductOut, {}, False),
    ],
)
def test_field_dict_and_attribute_reads_give_the_same_dtos(
    response: type[ProductSummary], transforms: Mapping[str, Callable[[Product], object]], fields_only: bool
) -> None:
    mapper: GenericMapper[Product, ProductRow, BaseModel] = GenericMapper(
        entity=Product, model=ProductRow, response=response, response_transforms=transforms
    )
    items = [make_product(i) for i in range(3)]

    dtos = mapper.to_dto_list(items)

    assert mapper._reads_fields_only is fields_only
    assert dtos == [mapper.to_response(item) for item in items]
    shared = {"id", "name", "price"}
    assert [dto.model_dump(include=shared) for dto in dtos] == [p.model_dump(include=shared) for p in items]
    if transforms:
        assert [dto.model_dump()["label"] for dto in dtos] == [_label(p) for p in items]


def test_a_strict_response_still_ignores_entity_fields_it_does_not_declare() -> None:
    mapper = GenericMapper(entity=Product, model=ProductRow, response=StrictSummary)

    assert mapper.to_dto_list([make_product()]) == [StrictSummary(id=1, name="widget-1", price=Decimal("9.99"))]


def test_an_aliased_response_field_reads_the_aliased_attribute() -> None:
    mapper = GenericMapper(entity=Product, model=ProductRow, response=AliasedSummary)

    (dto,) = mapper.to_dto_list([make_product()])

    assert mapper._reads_fields_only is False
    assert dto.title == "widget-1"


def test_a_before_model_validator_sees_the_entity_not_a_dict() -> None:
    mapper = GenericMapper(entity=Product, model=ProductRow, response=BeforeSummary)

    assert [dto.seen for dto in mapper.to_dto_list([make_product()])] == ["Product"]
    assert mapper.to_response(make_product()).seen == "Product"


# --- nested entities ----------------------------------------------------------------------------------------


def test_nested_entities_map_to_nested_dtos() -> None:
    order = make_order()

    response = OrderMapper().to_response(order)

    assert response == OrderOut(
        id=7,
        customer="ada",
        lines=[OrderLineOut(id=1, sku="A-1", quantity=2), OrderLineOut(id=2, sku="B-2", quantity=3)],
        total_quantity=5,
    )
    assert OrderMapper().to_dto_list([order, order]) == [response, response]


class OrderSummary(BaseModel):
    id: int
    customer: str
    lines: list[OrderLineOut]


def test_nested_entities_map_from_the_field_dict_too() -> None:
    mapper = GenericMapper(entity=Order, model=OrderRow, response=OrderSummary)

    (summary,) = mapper.to_dto_list([make_order()])

    assert mapper._reads_fields_only is True
    assert summary == OrderSummary.model_validate(OrderMapper().to_response(make_order()).model_dump())
    assert mapper.to_response(make_order()) == summary


def test_nested_entities_round_trip_through_nested_models() -> None:
    mapper = OrderMapper()
    order = make_order()

    row = mapper.to_model(order)

    assert isinstance(row, OrderRow)
    assert [type(line) for line in row.lines] == [OrderLineRow, OrderLineRow]
    assert [line.sku for line in row.lines] == ["A-1", "B-2"]
    back = mapper.to_entity(row)
    assert all(isinstance(line, OrderLine) for line in back.lines)
    assert back.model_dump() == order.model_dump()


# --- entity to model and back -------------------------------------------------------------------------------


@dataclass
class PriceRow:
    """A row whose shape differs from the entity: cents instead of a decimal, and a server-side column."""

    id: int
    name: str
    price_cents: int
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None
    row_version: int = field(default=0, init=False)


class PriceMapper(GenericMapper[Product, PriceRow, ProductOut]):
    model_transforms: ClassVar[Mapping[str, Callable[[Product], object]]] = {
        "price_cents": lambda product: int(product.price * 100),
    }
    entity_transforms: ClassVar[Mapping[str, Callable[[PriceRow], object]]] = {
        "price": lambda row: Decimal(row.price_cents) / 100,
    }


def test_model_and_entity_transforms_bridge_differently_shaped_fields() -> None:
    mapper = PriceMapper()
    product = make_product(price=Decimal("12.34"))

    row = mapper.to_model(product)

    assert (row.price_cents, row.row_version) == (1234, 0)
    back = mapper.to_entity(row)
    assert back.price == Decimal("12.34")
    assert back.model_dump() == product.model_dump()


def test_to_entity_validates_what_comes_out_of_storage() -> None:
    row = ProductRow(id=1, name="x", price=Decimal(1), tags=[], created_at=MOMENT, updated_at=MOMENT)
    row.price = "not a number"  # type: ignore[assignment]

    with pytest.raises(ValidationError, match="price"):
        ProductMapper().to_entity(row)


def test_to_entities_gives_what_to_entity_gives_row_by_row() -> None:
    rows = [
        ProductRow(id=n, name=f"p{n}", price=Decimal(n), tags=["a"], created_at=MOMENT, updated_at=MOMENT)
        for n in range(3)
    ]

    assert ProductMapper().to_entities(rows) == [ProductMapper().to_entity(row) for row in rows]


def test_to_entities_applies_entity_transforms() -> None:
    mapper = PriceMapper()
    rows = [mapper.to_model(make_product(price=Decimal("12.34"))), mapper.to_model(make_product(price=Decimal(1)))]

    assert [product.price for product in mapper.to_entities(rows)] == [Decimal("12.34"), Decimal(1)]


def test_a_bad_stored_row_among_many_raises_the_error_to_entity_raises() -> None:
    good = ProductRow(id=1, name="x", price=Decimal(1), tags=[], created_at=MOMENT, updated_at=MOMENT)
    bad = ProductRow(id=2, name="y", price=Decimal(1), tags=[], created_at=MOMENT, updated_at=MOMENT)
    bad.price = "not a number"  # type: ignore[assignment]
    with pytest.raises(ValidationError) as alone:
        ProductMapper().to_entity(bad)

    with pytest.raises(ValidationError) as among:
        ProductMapper().to_entities([good, bad])

    assert among.value.errors() == alone.value.errors()
    assert among.value.title == alone.value.title


class PlainRow:
    """A plain class that takes only some entity fields; a positional-only one cannot come by keyword."""

    def __init__(
        self,
        created_at: datetime | None = None,
        /,
        id: int = 0,  # noqa: A002
        name: str = "",
        *,
        price: Decimal,
    ) -> None:
        self.created_at = created_at
        self.id = id
        self.name = name
        self.price = price


def test_a_plain_class_gets_only_the_keywords_its_signature_names() -> None:
    mapper = GenericMapper(entity=Product, model=PlainRow, response=ProductOut)

    row = mapper.to_model(make_product(3))

    assert (row.created_at, row.id, row.name, row.price) == (None, 3, "widget-3", Decimal("9.99"))


class KeywordRow:
    def __init__(self, **values: object) -> None:
        self.values = values


def test_a_class_taking_any_keyword_gets_every_entity_field() -> None:
    mapper = GenericMapper(entity=Product, model=KeywordRow, response=ProductOut)

    row = mapper.to_model(make_product())

    assert set(row.values) == set(Product.model_fields)


def _columns(*names: str) -> list[SimpleNamespace]:
    return [SimpleNamespace(key=name) for name in names]


class MappedRow(KeywordRow):
    """Looks like a SQLAlchemy declarative class: ``**kwargs`` constructor plus ``__mapper__``."""

    __mapper__ = SimpleNamespace(column_attrs=_columns("id", "name", "price", "lines_json"))


class TableRow(KeywordRow):
    """Looks like a SQLAlchemy class known only by its ``__table__``."""

    __table__ = SimpleNamespace(columns=_columns("id", "name"))


@dataclass
class MappedDataclassRow:
    """Looks like SQLAlchemy's ``MappedAsDataclass``: a dataclass whose relationship is not a column."""

    __mapper__: ClassVar[object] = SimpleNamespace(column_attrs=_columns("id", "name"))

    id: int
    name: str
    tags: list[str] = field(default_factory=list)


@pytest.mark.parametrize(
    ("model", "expected"),
    [(MappedRow, {"id", "name", "price"}), (TableRow, {"id", "name"})],
)
def test_orm_style_classes_get_only_their_column_fields(model: type[KeywordRow], expected: set[str]) -> None:
    mapper: GenericMapper[Product, KeywordRow, ProductOut] = GenericMapper(
        entity=Product, model=model, response=ProductOut
    )

    row = mapper.to_model(make_product())

    assert set(row.values) == expected


def test_a_mapped_dataclass_gets_columns_and_leaves_relationships_to_their_default() -> None:
    row = GenericMapper(entity=Product, model=MappedDataclassRow, response=ProductOut).to_model(make_product())

    assert row == MappedDataclassRow(id=1, name="widget-1", tags=[])


class ProductDocument(BaseModel):
    id: int
    name: str


def test_a_pydantic_model_can_be_the_persistence_model() -> None:
    mapper = GenericMapper(entity=Product, model=ProductDocument, response=ProductOut)

    assert mapper.to_model(make_product()) == ProductDocument(id=1, name="widget-1")


def test_a_model_without_a_readable_signature_is_refused_at_construction() -> None:
    with pytest.raises(TypeError, match="cannot tell which keyword arguments int takes"):
        GenericMapper(entity=Product, model=int, response=ProductOut)


# --- properties ---------------------------------------------------------------------------------------------

aware_datetimes = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
products = st.builds(
    Product,
    id=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    name=st.text(max_size=30),
    price=st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False, allow_infinity=False),
    tags=st.lists(st.text(max_size=10), max_size=5),
    created_at=aware_datetimes,
    updated_at=aware_datetimes,
    deleted_at=st.none() | aware_datetimes,
)
order_lines = st.builds(
    OrderLine,
    id=st.integers(min_value=0),
    sku=st.text(min_size=1, max_size=10),
    quantity=st.integers(min_value=0, max_value=1000),
    created_at=aware_datetimes,
    updated_at=aware_datetimes,
    deleted_at=st.none() | aware_datetimes,
)
orders = st.builds(
    Order,
    id=st.integers(min_value=0),
    customer=st.text(max_size=20),
    lines=st.lists(order_lines, max_size=5),
    created_at=aware_datetimes,
    updated_at=aware_datetimes,
    deleted_at=st.none() | aware_datetimes,
)


@given(products)
def test_property_entity_model_entity_round_trip_keeps_every_field(product: Product) -> None:
    plain, priced = ProductMapper(), PriceMapper()

    assert plain.to_entity(plain.to_model(product)).model_dump() == product.model_dump()
    assert priced.to_entity(priced.to_model(product)).model_dump() == product.model_dump()


@given(orders)
def test_property_nested_round_trip_keeps_every_field(order: Order) -> None:
    mapper = OrderMapper()

    assert mapper.to_entity(mapper.to_model(order)).model_dump() == order.model_dump()


@given(st.lists(products, max_size=5))
def test_property_response_agrees_with_entity_on_shared_fields(items: list[Product]) -> None:
    mapper = ProductMapper()
    shared = set(ProductOut.model_fields) & set(Product.model_fields)

    for product, response in zip(items, mapper.to_dto_list(items), strict=True):
        assert response == mapper.to_response(product)
        for name in shared:
            assert getattr(response, name) == getattr(product, name), name
        assert response.is_deleted is product.is_deleted


@given(orders)
def test_property_nested_response_agrees_with_nested_entities(order: Order) -> None:
    response = OrderMapper().to_response(order)

    assert (response.id, response.customer, response.total_quantity) == (
        order.id,
        order.customer,
        order.total_quantity,
    )
    assert [line.model_dump() for line in response.lines] == [
        {"id": line.id, "sku": line.sku, "quantity": line.quantity} for line in order.lines
    ]
