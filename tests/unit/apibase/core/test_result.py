"""Result: both sides of every method, the monad laws, serialisation and the helpers around it."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from enum import StrEnum

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, JsonValue, ValidationError

from apibase.core.errors import (
    AppError,
    ConflictError,
    DependencyTimeout,
    EntityNotFound,
    NotFoundError,
    ValidationFailed,
)
from apibase.core.result import (
    Err,
    Ok,
    Result,
    UnwrapError,
    collect_all_errors,
    collect_results,
    result_from_dict,
    try_catch,
    try_catch_async,
)

pytestmark = pytest.mark.unit


def _fail(*_: object) -> object:
    raise AssertionError("this callback must not be called")


# --------------------------------------------------------------------------------------------- Ok


def test_ok_reports_its_side() -> None:
    assert Ok(1).is_ok() is True
    assert Ok(1).is_err() is False


def test_ok_map_applies_the_function() -> None:
    assert Ok(2).map(lambda x: x * 10) == Ok(20)


def test_ok_map_err_and_or_else_return_the_same_object_without_calling() -> None:
    ok = Ok(2)
    assert ok.map_err(_fail) is ok
    assert ok.or_else(_fail) is ok


def test_ok_bind_and_and_then_return_what_the_function_returns() -> None:
    assert Ok(2).bind(lambda x: Ok(x + 1)) == Ok(3)
    assert Ok(2).bind(lambda x: Err(f"no {x}")) == Err("no 2")
    assert Ok(2).and_then(lambda x: Ok(x + 1)) == Ok(3)
    assert Ok(2).and_then(Err) == Err(2)


def test_ok_unwrap_family_returns_the_value() -> None:
    ok = Ok("v")
    assert ok.unwrap() == "v"
    assert ok.unwrap_or("default") == "v"
    assert ok.unwrap_or_else(_fail) == "v"


def test_ok_unwrap_err_raises() -> None:
    with pytest.raises(UnwrapError, match=r"unwrap_err\(\) called on Ok\('v'\)"):
        Ok("v").unwrap_err()


def test_ok_match_calls_only_the_ok_branch() -> None:
    assert Ok(4).match(ok=lambda v: v + 1, err=_fail) == 5


def test_ok_to_dict() -> None:
    assert Ok({"a": [1, 2]}).to_dict() == {"ok": True, "value": {"a": [1, 2]}}
    assert Ok(None).to_dict() == {"ok": True, "value": None}


# -------------------------------------------------------------------------------------------- Err


def test_err_reports_its_side() -> None:
    assert Err("e").is_ok() is False
    assert Err("e").is_err() is True


def test_err_map_bind_and_then_return_the_same_object_without_calling() -> None:
    err = Err("e")
    assert err.map(_fail) is err
    assert err.bind(_fail) is err
    assert err.and_then(_fail) is err


def test_err_map_err_transforms_the_error() -> None:
    assert Err("e").map_err(str.upper) == Err("E")


def test_err_or_else_recovers_or_replaces() -> None:
    assert Err(3).or_else(lambda e: Ok(e * 2)) == Ok(6)
    assert Err(3).or_else(lambda e: Err(f"still {e}")) == Err("still 3")


def test_err_unwrap_of_plain_value_raises_without_cause() -> None:
    with pytest.raises(UnwrapError, match=r"unwrap\(\) called on Err\('boom'\)") as info:
        Err("boom").unwrap()
    assert info.value.__cause__ is None


def test_err_unwrap_of_exception_chains_it_as_cause() -> None:
    error = NotFoundError("no such order")
    with pytest.raises(UnwrapError, match="NotFoundError") as info:
        Err(error).unwrap()
    assert info.value.__cause__ is error


def test_err_unwrap_or_and_unwrap_or_else() -> None:
    assert Err("e").unwrap_or(0) == 0
    assert Err("abc").unwrap_or_else(len) == 3


def test_err_unwrap_err_returns_the_error() -> None:
    error = ConflictError("taken")
    assert Err(error).unwrap_err() is error


def test_err_match_calls_only_the_err_branch() -> None:
    assert Err("e").match(ok=_fail, err=lambda e: f"got {e}") == "got e"


def test_err_to_dict_uses_the_errors_own_to_dict() -> None:
    error = NotFoundError("missing", extensions={"id": 7})
    assert Err(error).to_dict() == {"ok": False, "error": error.to_dict()}


def test_err_to_dict_of_plain_values() -> None:
    assert Err("e").to_dict() == {"ok": False, "error": "e"}
    assert Err({"field": ["bad"]}).to_dict() == {"ok": False, "error": {"field": ["bad"]}}


# ------------------------------------------------------------------------------- dataclass shape


def test_ok_and_err_are_frozen_value_objects() -> None:
    assert Ok(1) == Ok(1)
    assert Ok(1) != Ok(2)
    assert Ok(1) != Err(1)
    assert hash(Ok(1)) == hash(Ok(1))
    assert {Ok(1), Ok(1), Err(1)} == {Ok(1), Err(1)}
    with pytest.raises(dataclasses.FrozenInstanceError):
        Ok(1).value = 2  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        Err(1).error = 2  # type: ignore[misc]


def test_ok_and_err_can_be_built_through_an_explicit_type_argument() -> None:
    # ``@dataclass(frozen=True, slots=True)`` broke this on Python 3.12.1 (typing sets __orig_class__).
    assert Ok[int](1) == Ok(1)
    assert Err[str]("e") == Err("e")


def _describe(result: Result[int, str]) -> str:
    match result:
        case Ok(value) if value > 100:
            return f"big {value}"
        case Ok(value):
            return f"ok {value}"
        case Err(error):
            return f"err {error}"


@pytest.mark.parametrize(
    ("result", "expected"),
    [(Ok(1), "ok 1"), (Ok(101), "big 101"), (Err("nope"), "err nope")],
)
def test_structural_pattern_matching(result: Result[int, str], expected: str) -> None:
    assert _describe(result) == expected


def test_keyword_patterns_match_the_field_names() -> None:
    match Err("x"):
        case Ok(value=v):
            pytest.fail(f"matched Ok({v})")
        case Err(error=e):
            assert e == "x"


# ------------------------------------------------------------------------------------ monad laws

type IntResult = Result[int, str]


def _increment(x: int) -> IntResult:
    return Ok(x + 1)


def _halve_even(x: int) -> IntResult:
    return Ok(x // 2) if x % 2 == 0 else Err(f"odd {x}")


def _reject_negative(x: int) -> IntResult:
    return Err(f"negative {x}") if x < 0 else Ok(x)


def _always_fail(x: int) -> IntResult:
    return Err(f"failed on {x}")


def _wrap(x: int) -> IntResult:
    return Ok(x)


_ints = st.integers(min_value=-10_000, max_value=10_000)
_results: st.SearchStrategy[IntResult] = st.one_of(_ints.map(Ok), st.text(max_size=8).map(Err))
_functions = st.sampled_from([_increment, _halve_even, _reject_negative, _always_fail, _wrap])


@given(value=_ints, fn=_functions)
def test_left_identity(value: int, fn: Callable[[int], IntResult]) -> None:
    assert Ok(value).bind(fn) == fn(value)


@given(m=_results)
def test_right_identity(m: IntResult) -> None:
    assert m.bind(Ok) == m


@given(m=_results, f=_functions, g=_functions)
def test_associativity(m: IntResult, f: Callable[[int], IntResult], g: Callable[[int], IntResult]) -> None:
    assert m.bind(f).bind(g) == m.bind(lambda x: f(x).bind(g))


@given(m=_results, f=_functions)
def test_and_then_is_bind(m: IntResult, f: Callable[[int], IntResult]) -> None:
    assert m.and_then(f) == m.bind(f)


@given(m=_results)
def test_functor_identity_and_composition(m: IntResult) -> None:
    assert m.map(lambda x: x) == m
    assert m.map(lambda x: x + 1).map(lambda x: x * 3) == m.map(lambda x: (x + 1) * 3)


# --------------------------------------------------------------------------- to_dict round trips

_json_values: st.SearchStrategy[JsonValue] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=16,
)
_json_results = st.one_of(_json_values.map(Ok), _json_values.map(Err))


def _through_json(data: dict[str, JsonValue]) -> dict[str, JsonValue]:
    loaded = json.loads(json.dumps(data))
    assert isinstance(loaded, dict)
    return loaded


@given(result=_json_results)
def test_round_trip_of_json_values(result: Result[JsonValue, JsonValue]) -> None:
    assert result_from_dict(result.to_dict()) == result
    assert result_from_dict(_through_json(result.to_dict())) == result


class Invoice(BaseModel):
    number: str
    total_cents: int
    paid: bool
    issued_at: datetime
    note: str | None = None


_invoices = st.builds(
    Invoice,
    number=st.text(min_size=1, max_size=12),
    total_cents=st.integers(min_value=0, max_value=10**12),
    paid=st.booleans(),
    issued_at=st.datetimes(timezones=st.just(UTC)),
    note=st.none() | st.text(max_size=20),
)


@given(invoice=_invoices)
def test_round_trip_of_a_pydantic_model_value(invoice: Invoice) -> None:
    data = Ok(invoice).to_dict()
    assert result_from_dict(data, value_type=Invoice) == Ok(invoice)
    assert result_from_dict(_through_json(data), value_type=Invoice) == Ok(invoice)


_error_classes = st.sampled_from([NotFoundError, ConflictError, EntityNotFound, DependencyTimeout])
_extensions = st.dictionaries(st.text(min_size=1, max_size=6), _json_values, max_size=3)


@given(error_class=_error_classes, detail=st.text(max_size=30), extensions=_extensions)
def test_round_trip_of_an_app_error(
    error_class: type[AppError[StrEnum]], detail: str, extensions: dict[str, JsonValue]
) -> None:
    result: Result[int, AppError[StrEnum]] = Err(error_class(detail, extensions=extensions))
    data = result.to_dict()
    for payload in (data, _through_json(data)):
        rebuilt = result_from_dict(payload, error_type=error_class)
        assert rebuilt == result
        assert type(rebuilt.unwrap_err()) is error_class
        # The base class rebuilds the concrete subclass too.
        assert result_from_dict(payload, error_type=AppError) == result


def test_round_trip_of_validation_failed_keeps_field_errors() -> None:
    error = ValidationFailed("bad", extensions={"errors": [{"loc": ["name"], "message": "x", "type": "t"}]})
    data = _through_json(Err(error).to_dict())
    assert result_from_dict(data, error_type=ValidationFailed) == Err(error)


def test_result_from_dict_without_types_returns_raw_payloads() -> None:
    error = NotFoundError("gone")
    rebuilt = result_from_dict(Err(error).to_dict())
    assert rebuilt == Err(error.to_dict())


def test_result_from_dict_validates_plain_types() -> None:
    assert result_from_dict({"ok": True, "value": "42"}, value_type=int) == Ok(42)
    assert result_from_dict({"ok": False, "error": ["a", "b"]}, error_type=tuple[str, ...]) == Err(("a", "b"))
    with pytest.raises(ValidationError):
        result_from_dict({"ok": True, "value": "forty-two"}, value_type=int)


def test_result_from_dict_refuses_an_error_of_another_class() -> None:
    with pytest.raises(TypeError, match="ConflictError is not a NotFoundError"):
        result_from_dict(Err(ConflictError("x")).to_dict(), error_type=NotFoundError)


@pytest.mark.parametrize(
    "data",
    [{}, {"value": 1}, {"ok": "true", "value": 1}, {"ok": 1, "value": 1}, {"ok": None}, {"ok": 0}],
)
def test_result_from_dict_rejects_a_bad_mapping(data: dict[str, JsonValue]) -> None:
    with pytest.raises(ValueError, match="not a serialised Result"):
        result_from_dict(data)


# ----------------------------------------------------------------------------------- try_catch


class _Abort(BaseException):
    """Not an ``Exception``: the default ``try_catch()`` must let it through."""


def test_try_catch_returns_ok_on_success_and_err_for_named_exceptions() -> None:
    @try_catch(ValueError)
    def parse(text: str) -> int:
        return int(text)

    assert parse("12") == Ok(12)
    error = parse("twelve").unwrap_err()
    assert isinstance(error, ValueError)


def test_try_catch_lets_other_exceptions_propagate() -> None:
    @try_catch(ValueError)
    def lookup(key: str) -> int:
        return {"a": 1}[key]

    with pytest.raises(KeyError):
        lookup("b")


def test_try_catch_accepts_several_exception_types_and_subclasses() -> None:
    @try_catch(KeyError, AppError)
    def fail(kind: str) -> int:
        if kind == "key":
            raise KeyError(kind)
        raise NotFoundError("nope")

    assert isinstance(fail("key").unwrap_err(), KeyError)
    assert fail("app") == Err(NotFoundError("nope"))


def test_try_catch_defaults_to_exception_but_not_base_exception() -> None:
    @try_catch()
    def run(exc: BaseException) -> None:
        raise exc

    boom = RuntimeError("boom")
    assert run(boom) == Err(boom)
    with pytest.raises(_Abort):
        run(_Abort())


def test_try_catch_keeps_the_function_metadata() -> None:
    @try_catch(ValueError)
    def documented() -> int:
        """Docs."""
        return 1

    assert documented.__name__ == "documented"
    assert documented.__doc__ == "Docs."


async def test_try_catch_async_returns_ok_and_err() -> None:
    @try_catch_async(LookupError)
    async def find(key: str) -> int:
        return {"a": 1}[key]

    assert await find("a") == Ok(1)
    assert isinstance((await find("b")).unwrap_err(), KeyError)


async def test_try_catch_async_lets_other_exceptions_propagate() -> None:
    @try_catch_async(KeyError)
    async def divide(x: int) -> float:
        return 1 / x

    with pytest.raises(ZeroDivisionError):
        await divide(0)


async def test_try_catch_async_defaults_to_exception_but_not_base_exception() -> None:
    @try_catch_async()
    async def run(exc: BaseException) -> None:
        raise exc

    boom = NotFoundError("gone")
    assert await run(boom) == Err(boom)
    with pytest.raises(_Abort):
        await run(_Abort())
    assert run.__name__ == "run"


# ------------------------------------------------------------------------------------ collectors


def test_collect_results_gathers_values_in_order() -> None:
    assert collect_results([Ok(1), Ok(2), Ok(3)]) == Ok([1, 2, 3])
    assert collect_results([]) == Ok([])


def test_collect_results_returns_the_first_error() -> None:
    assert collect_results([Ok(1), Err("first"), Ok(3), Err("second")]) == Err("first")


def test_collect_results_short_circuits() -> None:
    def results() -> Iterator[Result[int, str]]:
        yield Ok(1)
        yield Err("stop here")
        raise AssertionError("consumed past the first error")

    assert collect_results(results()) == Err("stop here")


def test_collect_all_errors_gathers_every_error_in_order() -> None:
    assert collect_all_errors([Ok(1), Err("a"), Ok(2), Err("b")]) == Err(["a", "b"])


def test_collect_all_errors_returns_values_when_nothing_failed() -> None:
    assert collect_all_errors([Ok(1), Ok(2)]) == Ok([1, 2])
    assert collect_all_errors([]) == Ok([])


@given(results=st.lists(_results, max_size=8))
def test_collectors_agree_with_a_plain_loop(results: list[IntResult]) -> None:
    values = [r.unwrap() for r in results if r.is_ok()]
    errors = [r.unwrap_err() for r in results if r.is_err()]
    assert collect_results(results) == (Err(errors[0]) if errors else Ok(values))
    assert collect_all_errors(results) == (Err(errors) if errors else Ok(values))


@pytest.mark.parametrize("collect", [collect_results, collect_all_errors])
def test_collectors_refuse_items_that_are_not_results(collect: Callable[[list[object]], object]) -> None:
    with pytest.raises(TypeError):
        collect([Ok(1), None, Ok(2)])
