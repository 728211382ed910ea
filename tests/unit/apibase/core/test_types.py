"""Refined types: Branded ids, NonEmpty/Positive, Lazy and Validated, alone and as pydantic fields."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from apibase.core.errors import ValidationFailed
from apibase.core.result import Err, Ok, Result
from apibase.core.types import Branded, Lazy, NonEmpty, NonEmptyStr, Positive, Validated

pytestmark = pytest.mark.unit


class UserId(Branded):
    pass


class OrderId(Branded):
    pass


# ------------------------------------------------------------------------------------------ Branded


def test_new_makes_distinct_random_ids_of_the_subclass() -> None:
    ids = {UserId.new() for _ in range(50)}
    assert len(ids) == 50
    for user_id in ids:
        assert type(user_id) is UserId
        assert isinstance(user_id, uuid.UUID)
        assert user_id.version == 4


@given(raw=st.uuids())
def test_parse_from_str_and_uuid(raw: uuid.UUID) -> None:
    from_str = UserId.parse(str(raw))
    from_uuid = UserId.parse(raw)
    assert type(from_str) is UserId
    assert type(from_uuid) is UserId
    assert from_str == from_uuid == raw
    assert str(from_str) == str(raw)
    assert UserId.parse(from_str) == from_str


def test_parse_keeps_an_id_of_its_own_brand_and_rebrands_any_other() -> None:
    user_id = UserId.new()

    assert UserId.parse(user_id) is user_id
    assert type(OrderId.parse(user_id)) is OrderId
    assert OrderId.parse(user_id) == user_id


def test_parse_accepts_other_uuid_spellings() -> None:
    raw = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert UserId.parse("{12345678-1234-5678-1234-567812345678}") == raw
    assert UserId.parse("12345678123456781234567812345678") == raw
    assert UserId.parse("12345678-1234-5678-1234-567812345678".upper()) == raw


@pytest.mark.parametrize("garbage", ["", "not-a-uuid", "12345678-1234-5678-1234-56781234567", "g" * 32])
def test_parse_rejects_garbage(garbage: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - uuid.UUID's message varies with the input
        UserId.parse(garbage)


def test_repr_names_the_brand() -> None:
    user_id = UserId.parse("12345678-1234-5678-1234-567812345678")
    assert repr(user_id) == "UserId('12345678-1234-5678-1234-567812345678')"
    assert repr(OrderId.parse(user_id)) == "OrderId('12345678-1234-5678-1234-567812345678')"


def test_branded_ids_are_hashable_keys() -> None:
    user_id = UserId.new()
    assert {user_id: "x"}[UserId.parse(str(user_id))] == "x"


class Account(BaseModel):
    id: UserId
    owner: UserId | None = None


def test_pydantic_validates_from_str_and_uuid() -> None:
    raw = uuid.uuid4()
    from_str = Account.model_validate({"id": str(raw)})
    from_uuid = Account(id=raw)  # type: ignore[arg-type]
    assert type(from_str.id) is UserId
    assert type(from_uuid.id) is UserId
    assert from_str.id == from_uuid.id == raw


def test_pydantic_converts_another_brand() -> None:
    order_id = OrderId.new()
    account = Account(id=order_id)  # type: ignore[arg-type]
    assert type(account.id) is UserId
    assert account.id == order_id


@pytest.mark.parametrize("garbage", ["not-a-uuid", "", 42, 4.2, None, ["x"]])
def test_pydantic_rejects_garbage(garbage: object) -> None:
    with pytest.raises(ValidationError) as info:
        Account.model_validate({"id": garbage})
    assert info.value.errors()[0]["loc"] == ("id",)


def test_pydantic_serialises_as_string() -> None:
    account = Account(id=UserId.new(), owner=None)
    assert json.loads(account.model_dump_json()) == {"id": str(account.id), "owner": None}
    assert account.model_dump(mode="json") == {"id": str(account.id), "owner": None}
    assert type(account.model_dump()["id"]) is UserId
    rebuilt = Account.model_validate_json(account.model_dump_json())
    assert rebuilt == account
    assert type(rebuilt.id) is UserId


def test_pydantic_json_schema_is_a_uuid_string() -> None:
    schema = Account.model_json_schema()
    assert schema["properties"]["id"] == {"format": "uuid", "title": "Id", "type": "string"}


# -------------------------------------------------------------------------- NonEmpty and friends


class Order(BaseModel):
    lines: NonEmpty[str]
    customer: NonEmptyStr
    quantity: Positive[int]
    price: Positive[Decimal]
    weight: Positive[float]


_VALID_ORDER: dict[str, object] = {
    "lines": ["a"],
    "customer": "c",
    "quantity": 1,
    "price": "0.01",
    "weight": 0.5,
}


def test_refined_fields_accept_valid_values() -> None:
    order = Order.model_validate(_VALID_ORDER)
    assert order.lines == ["a"]
    assert order.customer == "c"
    assert order.quantity == 1
    assert order.price == Decimal("0.01")
    assert order.weight == 0.5


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("lines", []),
        ("lines", [1]),
        ("customer", ""),
        ("quantity", 0),
        ("quantity", -3),
        ("price", "0"),
        ("price", "-0.01"),
        ("weight", 0.0),
        ("weight", -1e-9),
    ],
)
def test_refined_fields_reject_invalid_values(field: str, bad: object) -> None:
    with pytest.raises(ValidationError) as info:
        Order.model_validate({**_VALID_ORDER, field: bad})
    assert info.value.errors()[0]["loc"][0] == field


def test_refined_fields_show_in_the_json_schema() -> None:
    schema = json.dumps(Order.model_json_schema())
    assert '"minItems": 1' in schema
    assert '"minLength": 1' in schema
    assert '"exclusiveMinimum": 0' in schema


# --------------------------------------------------------------------------------------------- Lazy


class _Counter:
    def __init__(self, value: object) -> None:
        self.value = value
        self.calls = 0

    def __call__(self) -> object:
        self.calls += 1
        return self.value


def test_lazy_evaluates_once_on_first_use() -> None:
    factory = _Counter(42)
    lazy = Lazy(factory)
    assert factory.calls == 0
    assert not lazy.is_evaluated
    assert lazy.get() == 42
    assert lazy.get() == 42
    assert factory.calls == 1
    assert lazy.is_evaluated


def test_lazy_keeps_a_none_result() -> None:
    factory = _Counter(None)
    lazy = Lazy(factory)
    assert lazy.get() is None
    assert lazy.get() is None
    assert factory.calls == 1
    assert lazy.is_evaluated


def test_lazy_retries_when_the_factory_fails() -> None:
    attempts: list[int] = []

    def flaky() -> int:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("first call fails")
        return 7

    lazy = Lazy(flaky)
    with pytest.raises(RuntimeError):
        lazy.get()
    assert not lazy.is_evaluated
    assert lazy.get() == 7
    assert len(attempts) == 2


def test_lazy_of_is_already_evaluated() -> None:
    lazy = Lazy.of("ready")
    assert lazy.is_evaluated
    assert lazy.get() == "ready"


def test_lazy_repr_before_and_after() -> None:
    lazy = Lazy(lambda: "x")
    assert repr(lazy) == "Lazy(<pending>)"
    lazy.get()
    assert repr(lazy) == "Lazy('x')"
    assert repr(Lazy.of([1])) == "Lazy([1])"


def test_lazy_equality_and_hash_compare_values() -> None:
    factory = _Counter(3)
    lazy = Lazy(factory)
    assert lazy == Lazy.of(3)
    assert factory.calls == 1
    assert lazy != Lazy.of(4)
    assert lazy != 3
    assert hash(lazy) == hash(Lazy.of(3)) == hash(3)
    assert len({Lazy.of(1), Lazy(lambda: 1), Lazy.of(2)}) == 2


class Report(BaseModel):
    total: Lazy[int]
    anything: Lazy = Lazy.of(None)  # type: ignore[type-arg]


def test_lazy_field_wraps_the_validated_value() -> None:
    report = Report.model_validate({"total": "12"})
    assert isinstance(report.total, Lazy)
    assert report.total.is_evaluated
    assert report.total.get() == 12


def test_lazy_field_keeps_a_lazy_instance_unevaluated() -> None:
    factory = _Counter(5)
    lazy: Lazy[int] = Lazy(factory)  # type: ignore[arg-type]
    report = Report(total=lazy)
    assert report.total is lazy
    assert factory.calls == 0
    assert report.model_dump() == {"total": 5, "anything": None}
    assert factory.calls == 1


def test_lazy_field_rejects_a_bad_inner_value() -> None:
    with pytest.raises(ValidationError) as info:
        Report.model_validate({"total": "twelve"})
    assert info.value.errors()[0]["loc"][0] == "total"


def test_lazy_field_without_type_argument_accepts_anything() -> None:
    report = Report.model_validate({"total": 1, "anything": {"k": [1, 2]}})
    assert report.anything.get() == {"k": [1, 2]}


def test_lazy_field_json_round_trip() -> None:
    report = Report(total=Lazy(lambda: 99), anything=Lazy.of("a"))
    text = report.model_dump_json()
    assert json.loads(text) == {"total": 99, "anything": "a"}
    rebuilt = Report.model_validate_json(text)
    assert rebuilt == report
    assert rebuilt.total.is_evaluated


def test_lazy_field_json_schema_is_the_inner_type() -> None:
    assert Report.model_json_schema()["properties"]["total"]["type"] == "integer"


# ---------------------------------------------------------------------------------------- Validated


def _positive(value: int) -> Result[int, ValidationFailed]:
    return Ok(value) if value > 0 else Err(ValidationFailed(f"{value} is not positive"))


def _even(value: int) -> Result[int, ValidationFailed]:
    return Ok(value) if value % 2 == 0 else Err(ValidationFailed(f"{value} is odd"))


def _round_down_to_ten(value: int) -> Result[int, ValidationFailed]:
    return Ok(value - value % 10)


def test_check_passes_through_all_validators() -> None:
    result = Validated.check(42, _positive, _even)
    assert result == Ok(Validated.check(42).unwrap())
    assert result.unwrap().value == 42


def test_check_without_validators_accepts() -> None:
    assert Validated.check("anything").unwrap().value == "anything"


def test_check_returns_the_first_failure_and_stops() -> None:
    calls: list[int] = []

    def spy(value: int) -> Result[int, ValidationFailed]:
        calls.append(value)
        return Ok(value)

    result = Validated.check(-3, _positive, spy, _even)
    assert result == Err(ValidationFailed("-3 is not positive"))
    assert calls == []
    assert Validated.check(3, _positive, spy, _even) == Err(ValidationFailed("3 is odd"))
    assert calls == [3]


def test_check_feeds_normalised_values_forward() -> None:
    assert Validated.check(47, _round_down_to_ten, _even).unwrap().value == 40
    assert Validated.check(7, _round_down_to_ten, _positive) == Err(ValidationFailed("0 is not positive"))


def test_direct_construction_is_refused() -> None:
    with pytest.raises(TypeError, match=r"use Validated\.check"):
        Validated(1)
    with pytest.raises(TypeError, match=r"use Validated\.check"):
        Validated(1, _token=object())


def test_validated_equality_hash_and_repr() -> None:
    one = Validated.check(1).unwrap()
    assert one == Validated.check(1).unwrap()
    assert one != Validated.check(2).unwrap()
    assert one != 1
    assert hash(one) == hash(1)
    assert repr(one) == "Validated(1)"


class Signup(BaseModel):
    age: Validated[Positive[int]]
    nickname: Validated[NonEmptyStr]


def test_validated_field_validates_the_inner_type() -> None:
    signup = Signup.model_validate({"age": "30", "nickname": "neo"})
    assert isinstance(signup.age, Validated)
    assert signup.age.value == 30
    assert signup.nickname == Validated.check("neo").unwrap()


@pytest.mark.parametrize(("field", "bad"), [("age", 0), ("age", "old"), ("nickname", "")])
def test_validated_field_rejects_bad_inner_values(field: str, bad: object) -> None:
    data: dict[str, object] = {"age": 30, "nickname": "neo", field: bad}
    with pytest.raises(ValidationError) as info:
        Signup.model_validate(data)
    assert info.value.errors()[0]["loc"][0] == field


def test_validated_field_accepts_a_checked_instance_as_is() -> None:
    age = Validated.check(30, _positive).unwrap()
    signup = Signup(age=age, nickname=Validated.check("neo").unwrap())
    assert signup.age is age


def test_validated_field_json_round_trip() -> None:
    signup = Signup.model_validate({"age": 30, "nickname": "neo"})
    text = signup.model_dump_json()
    assert json.loads(text) == {"age": 30, "nickname": "neo"}
    assert signup.model_dump() == {"age": 30, "nickname": "neo"}
    assert Signup.model_validate_json(text) == signup


def test_check_refuses_a_validator_that_does_not_return_a_result() -> None:
    with pytest.raises(TypeError):
        Validated.check(-1, lambda v: v > 0)  # type: ignore[arg-type,return-value]
