"""Specifications: every operator, dotted paths, None semantics, composition laws and a reference model."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apibase.domain.specification import (
    And,
    Comparison,
    FieldPath,
    Not,
    Operator,
    Or,
    Predicate,
    Specification,
    TrueSpecification,
    field,
    resolve_path,
)

pytestmark = pytest.mark.unit


@dataclass(frozen=True)
class Item:
    n: int | None
    s: str | None


@dataclass(frozen=True)
class City:
    name: str | None


@dataclass(frozen=True)
class Address:
    city: City | None


@dataclass(frozen=True)
class Customer:
    name: str
    address: Address | None


# ------------------------------------------------------------------------------------- operators

OPERATOR_CASES: list[tuple[Operator, Comparison, Item, bool]] = [
    (Operator.EQ, field("n").eq(3), Item(3, None), True),
    (Operator.EQ, field("n").eq(3), Item(4, None), False),
    (Operator.EQ, field("n").eq(None), Item(None, None), True),
    (Operator.NE, field("n").ne(3), Item(4, None), True),
    (Operator.NE, field("n").ne(3), Item(3, None), False),
    (Operator.NE, field("n").ne(3), Item(None, None), True),
    (Operator.LT, field("n").lt(3), Item(2, None), True),
    (Operator.LT, field("n").lt(3), Item(3, None), False),
    (Operator.LE, field("n").le(3), Item(3, None), True),
    (Operator.LE, field("n").le(3), Item(4, None), False),
    (Operator.GT, field("n").gt(3), Item(4, None), True),
    (Operator.GT, field("n").gt(3), Item(3, None), False),
    (Operator.GE, field("n").ge(3), Item(3, None), True),
    (Operator.GE, field("n").ge(3), Item(2, None), False),
    (Operator.GT, field("s").gt("b"), Item(None, "c"), True),
    (Operator.IN, field("n").is_in([1, 2]), Item(2, None), True),
    (Operator.IN, field("n").is_in([1, 2]), Item(3, None), False),
    (Operator.IN, field("n").is_in([None]), Item(None, None), True),
    (Operator.NOT_IN, field("n").not_in([1, 2]), Item(3, None), True),
    (Operator.NOT_IN, field("n").not_in([1, 2]), Item(1, None), False),
    (Operator.CONTAINS, field("s").contains("ell"), Item(None, "hello"), True),
    (Operator.CONTAINS, field("s").contains("xyz"), Item(None, "hello"), False),
    (Operator.CONTAINS, field("s").contains("1"), Item(None, None), False),
    (Operator.CONTAINS, field("n").contains("1"), Item(1, None), False),  # only strings contain text
    (Operator.STARTS_WITH, field("s").starts_with("he"), Item(None, "hello"), True),
    (Operator.STARTS_WITH, field("s").starts_with("lo"), Item(None, "hello"), False),
    (Operator.STARTS_WITH, field("s").starts_with(""), Item(None, None), False),
    (Operator.STARTS_WITH, field("n").starts_with("1"), Item(12, None), False),
    (Operator.IS_NULL, field("s").is_null(), Item(None, None), True),
    (Operator.IS_NULL, field("s").is_null(), Item(None, ""), False),
    (Operator.IS_NULL, field("s").is_null(expected=False), Item(None, ""), True),
    (Operator.IS_NULL, field("s").is_null(expected=False), Item(None, None), False),
]


def test_every_operator_has_cases() -> None:
    assert {case[0] for case in OPERATOR_CASES} == set(Operator)


@pytest.mark.parametrize(
    ("operator", "spec", "candidate", "expected"),
    OPERATOR_CASES,
    ids=[f"{case[1]} on {case[2]}" for case in OPERATOR_CASES],
)
def test_operator(operator: Operator, spec: Comparison, candidate: Item, expected: bool) -> None:
    assert spec.operator is operator
    assert spec.is_satisfied_by(candidate) is expected
    assert spec(candidate) is expected


@pytest.mark.parametrize(
    ("method", "argument", "operator", "stored"),
    [
        ("eq", 1, Operator.EQ, 1),
        ("ne", 1, Operator.NE, 1),
        ("lt", 1, Operator.LT, 1),
        ("le", 1, Operator.LE, 1),
        ("gt", 1, Operator.GT, 1),
        ("ge", 1, Operator.GE, 1),
        ("is_in", [1, 2], Operator.IN, (1, 2)),
        ("not_in", [1, 2], Operator.NOT_IN, (1, 2)),
        ("contains", "x", Operator.CONTAINS, "x"),
        ("starts_with", "x", Operator.STARTS_WITH, "x"),
        ("is_null", False, Operator.IS_NULL, False),
    ],
)
def test_field_path_builds_comparisons(method: str, argument: object, operator: Operator, stored: object) -> None:
    comparison = getattr(field("a.b"), method)(argument)
    assert comparison == Comparison("a.b", operator, stored)


def test_is_null_defaults_to_true_and_collections_become_tuples() -> None:
    assert field("a").is_null() == Comparison("a", Operator.IS_NULL, True)
    assert field("a").is_in(x for x in (3, 4)) == Comparison("a", Operator.IN, (3, 4))  # type: ignore[arg-type]
    assert hash(field("a").is_in([1, 2])) == hash(field("a").is_in((1, 2)))


def test_operator_values_are_stable_strings() -> None:
    assert [op.value for op in Operator] == [
        "eq",
        "ne",
        "lt",
        "le",
        "gt",
        "ge",
        "in",
        "not_in",
        "contains",
        "starts_with",
        "is_null",
    ]


# ------------------------------------------------------------------------------------ None rules


@pytest.mark.parametrize("method", ["lt", "le", "gt", "ge"])
def test_ordering_is_false_when_either_side_is_none(method: str) -> None:
    on_none_value = getattr(field("n"), method)(None)
    on_value = getattr(field("n"), method)(3)
    for candidate in (Item(None, None), Item(3, None), Item(-100, None), Item(100, None)):
        assert on_none_value(candidate) is False
    assert on_value(Item(None, None)) is False
    # Negation is plain boolean negation: NOT (NULL < 3) is true in memory.
    assert (~on_value)(Item(None, None)) is True


# ------------------------------------------------------------------------------------ dotted paths


def test_dotted_paths_read_nested_attributes() -> None:
    customer = Customer(name="Ann", address=Address(city=City(name="Oslo")))
    assert resolve_path(customer, "address.city.name") == "Oslo"
    assert field("address.city.name").eq("Oslo")(customer)
    assert field("address.city.name").starts_with("Os")(customer)
    assert not field("address.city.name").eq("Bergen")(customer)


@pytest.mark.parametrize(
    "customer",
    [
        Customer(name="Ann", address=None),
        Customer(name="Ann", address=Address(city=None)),
        Customer(name="Ann", address=Address(city=City(name=None))),
    ],
)
def test_none_anywhere_on_the_path_reads_as_none(customer: Customer) -> None:
    assert resolve_path(customer, "address.city.name") is None
    path = field("address.city.name")
    assert path.is_null()(customer)
    assert not path.is_null(expected=False)(customer)
    assert not path.eq("Oslo")(customer)
    assert path.ne("Oslo")(customer)
    assert not path.gt("A")(customer)
    assert not path.contains("O")(customer)


def test_a_none_candidate_reads_as_none() -> None:
    assert resolve_path(None, "a.b") is None


def test_an_unknown_attribute_is_a_loud_error() -> None:
    with pytest.raises(AttributeError):
        field("nope").eq(1)(Item(1, None))


# -------------------------------------------------------------------------- composition, fields, str


def test_operators_build_trees() -> None:
    a, b = field("n").gt(1), field("s").eq("x")
    assert (a & b) == And(a, b)
    assert (a | b) == Or(a, b)
    assert ~a == Not(a)


def test_boolean_composition() -> None:
    big, named = field("n").gt(10), field("s").eq("x")
    cases = [Item(11, "x"), Item(11, "y"), Item(1, "x"), Item(1, "y")]
    assert [(big & named)(c) for c in cases] == [True, False, False, False]
    assert [(big | named)(c) for c in cases] == [True, True, True, False]
    assert [(~big)(c) for c in cases] == [False, False, True, True]


def test_and_or_short_circuit() -> None:
    def explode(_: Item) -> bool:
        raise AssertionError("evaluated the right side")

    bomb: Predicate[Item] = Predicate("bomb", explode)
    assert not (field("n").eq(1) & bomb)(Item(2, None))
    assert (field("n").eq(1) | bomb)(Item(1, None))


def test_fields_lists_every_path_read() -> None:
    spec = (field("n").gt(1) & ~field("s").eq("x")) | field("address.city").is_null()
    assert spec.fields() == frozenset({"n", "s", "address.city"})
    assert Not(field("n").eq(1)).fields() == frozenset({"n"})
    assert TrueSpecification().fields() == frozenset()
    assert Predicate("p", bool).fields() == frozenset()
    assert (Predicate("p", bool) & field("n").eq(1)).fields() == frozenset({"n"})


def test_str() -> None:
    assert str(field("price").gt(10)) == "price gt 10"
    assert str(field("name").starts_with("A")) == "name starts_with 'A'"
    assert str(field("tag").is_in(["a", "b"])) == "tag in ('a', 'b')"
    assert str(field("a").eq(1) & field("b").eq(2)) == "(a eq 1 AND b eq 2)"
    assert str(field("a").eq(1) | field("b").eq(2)) == "(a eq 1 OR b eq 2)"
    assert str(~field("a").is_null()) == "NOT a is_null True"
    assert str(~(field("a").eq(1) & TrueSpecification())) == "NOT (a eq 1 AND TRUE)"
    assert str(TrueSpecification()) == "TRUE"
    assert str(Predicate("is_even", bool)) == "<predicate is_even>"


def test_predicate_runs_its_function() -> None:
    even: Predicate[Item] = Predicate("even", lambda item: item.n is not None and item.n % 2 == 0)
    assert even(Item(2, None))
    assert not even(Item(3, None))
    assert not even.is_satisfied_by(Item(None, None))
    assert (even & field("n").gt(2))(Item(4, None))


def test_true_specification_matches_everything_and_is_neutral_for_and() -> None:
    always: TrueSpecification[Item] = TrueSpecification()
    spec = field("n").gt(1)
    for candidate in (Item(None, None), Item(5, "x"), Item(0, "")):
        assert always(candidate)
        assert (always & spec)(candidate) == spec(candidate) == (spec & always)(candidate)
        assert (always | spec)(candidate)
    assert always.is_satisfied_by(object())


def test_specifications_can_be_built_through_an_explicit_type_argument() -> None:
    # ``@dataclass(frozen=True, slots=True)`` broke this on Python 3.12.1 (typing sets __orig_class__).
    spec = field("n").eq(1)
    assert TrueSpecification[Item]()(Item(None, None))
    assert And[Item](spec, spec)(Item(1, None))
    assert Or[Item](spec, spec)(Item(1, None))
    assert not Not[Item](spec)(Item(1, None))
    assert Predicate[Item]("p", lambda item: True)(Item(None, None))


def test_specifications_are_frozen_and_hashable() -> None:
    spec = field("n").eq(1) & field("s").is_in(["a"])
    assert hash(spec) == hash(field("n").eq(1) & field("s").is_in(["a"]))
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.left = TrueSpecification()  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        field("n").eq(1).value = 2  # type: ignore[misc]


def test_specification_is_abstract() -> None:
    with pytest.raises(TypeError):
        Specification()  # type: ignore[abstract]


# ------------------------------------------------------------------------------------------ field()


@pytest.mark.parametrize("path", ["a", "_private", "a.b", "customer.address.city", "A1.b_2"])
def test_field_accepts_dotted_identifiers(path: str) -> None:
    assert field(path) == FieldPath(path)


@pytest.mark.parametrize("path", ["", ".", "a.", ".a", "a..b", "1a", "a.1", "a-b", "a b", "a.b c", "a[0]"])
def test_field_rejects_bad_paths(path: str) -> None:
    with pytest.raises(ValueError, match="invalid field path"):
        field(path)


# ----------------------------------------------------------------------------- property-based laws

# A rule is a plain tree of tuples; it is turned both into a Specification and into a Python function.
type Tree = tuple[object, ...]

_ints = st.none() | st.integers(min_value=-3, max_value=3)
_texts = st.text(alphabet="ab", max_size=3)
_optional_texts = st.none() | _texts
_ORDERING = ("eq", "ne", "lt", "le", "gt", "ge")

_leaves: st.SearchStrategy[Tree] = st.one_of(
    st.tuples(st.just("cmp"), st.just("n"), st.sampled_from(_ORDERING), _ints),
    st.tuples(st.just("cmp"), st.just("s"), st.sampled_from(_ORDERING), _optional_texts),
    st.tuples(st.just("cmp"), st.just("n"), st.sampled_from(["is_in", "not_in"]), st.lists(_ints, max_size=3)),
    st.tuples(
        st.just("cmp"),
        st.just("s"),
        st.sampled_from(["is_in", "not_in"]),
        st.lists(_optional_texts, max_size=3),
    ),
    st.tuples(st.just("cmp"), st.sampled_from(["n", "s"]), st.sampled_from(["contains", "starts_with"]), _texts),
    st.tuples(st.just("cmp"), st.sampled_from(["n", "s"]), st.just("is_null"), st.booleans()),
    st.tuples(st.just("pred"), st.sampled_from(["n_even", "s_long"])),
    st.just(("true",)),
)
_trees: st.SearchStrategy[Tree] = st.recursive(
    _leaves,
    lambda children: st.one_of(
        st.tuples(st.just("and"), children, children),
        st.tuples(st.just("or"), children, children),
        st.tuples(st.just("not"), children),
    ),
    max_leaves=10,
)
_items = st.builds(Item, n=_ints, s=_optional_texts)

_PREDICATES: dict[str, Callable[[Item], bool]] = {
    "n_even": lambda item: item.n is not None and item.n % 2 == 0,
    "s_long": lambda item: item.s is not None and len(item.s) >= 2,
}


def _to_spec(tree: Tree) -> Specification[Item]:
    match tree:
        case ("cmp", str(path), str(method), value):
            spec: Specification[Item] = getattr(field(path), method)(value)
            return spec
        case ("pred", str(name)):
            return Predicate(name, _PREDICATES[name])
        case ("true",):
            return TrueSpecification()
        case ("and", left, right):
            return _to_spec(left) & _to_spec(right)  # type: ignore[arg-type]
        case ("or", left, right):
            return _to_spec(left) | _to_spec(right)  # type: ignore[arg-type]
        case ("not", inner):
            return ~_to_spec(inner)  # type: ignore[arg-type]
    raise AssertionError(tree)


def _compare(left: object, method: str, right: object) -> bool:
    """The reference semantics, written as plain Python: None never orders, only strings contain text."""
    match method:
        case "eq":
            return left == right
        case "ne":
            return left != right
        case "lt" | "le" | "gt" | "ge" if left is None or right is None:
            return False
        case "lt":
            return left < right  # type: ignore[operator]
        case "le":
            return left <= right  # type: ignore[operator]
        case "gt":
            return left > right  # type: ignore[operator]
        case "ge":
            return left >= right  # type: ignore[operator]
        case "is_in":
            return left in right  # type: ignore[operator]
        case "not_in":
            return left not in right  # type: ignore[operator]
        case "contains":
            return isinstance(left, str) and right in left  # type: ignore[operator]
        case "starts_with":
            return isinstance(left, str) and left.startswith(right)  # type: ignore[arg-type]
        case "is_null":
            return (left is None) == right
    raise AssertionError(method)


def _reference(tree: Tree, item: Item) -> bool:
    match tree:
        case ("cmp", str(path), str(method), value):
            return _compare(getattr(item, path), method, value)
        case ("pred", str(name)):
            return _PREDICATES[name](item)
        case ("true",):
            return True
        case ("and", left, right):
            return _reference(left, item) and _reference(right, item)  # type: ignore[arg-type]
        case ("or", left, right):
            return _reference(left, item) or _reference(right, item)  # type: ignore[arg-type]
        case ("not", inner):
            return not _reference(inner, item)  # type: ignore[arg-type]
    raise AssertionError(tree)


@given(tree=_trees, item=_items)
def test_agrees_with_plain_python(tree: Tree, item: Item) -> None:
    spec = _to_spec(tree)
    assert spec.is_satisfied_by(item) is _reference(tree, item)
    assert spec(item) is spec.is_satisfied_by(item)


@given(a=_trees.map(_to_spec), b=_trees.map(_to_spec), item=_items)
def test_de_morgan(a: Specification[Item], b: Specification[Item], item: Item) -> None:
    assert (~(a & b))(item) == (~a | ~b)(item)
    assert (~(a | b))(item) == (~a & ~b)(item)


@given(a=_trees.map(_to_spec), item=_items)
def test_double_negation(a: Specification[Item], item: Item) -> None:
    assert (~~a)(item) == a(item)


@given(a=_trees.map(_to_spec), b=_trees.map(_to_spec))
def test_fields_of_a_combination_is_the_union(a: Specification[Item], b: Specification[Item]) -> None:
    assert (a & b).fields() == (a | b).fields() == a.fields() | b.fields()
    assert (~a).fields() == a.fields()
    assert a.fields() <= {"n", "s"}
