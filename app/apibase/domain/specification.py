"""Specifications: business predicates that compose with ``&``, ``|`` and ``~``.

They are an expression tree of field comparisons, not opaque lambdas, so the same rule that checks one object in
memory also compiles into a SQL WHERE clause (the SQL repository walks ``And``/``Or``/``Not``/``Comparison``).
Only ``Predicate`` is opaque: it works in memory and is refused by compilers, loudly.
"""

from __future__ import annotations

import operator as op
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import cast, final

__all__ = [
    "And",
    "Comparison",
    "FieldPath",
    "Not",
    "Operator",
    "Or",
    "Predicate",
    "Specification",
    "TrueSpecification",
    "field",
    "resolve_path",
]


class Operator(StrEnum):
    EQ = "eq"
    NE = "ne"
    LT = "lt"
    LE = "le"
    GT = "gt"
    GE = "ge"
    IN = "in"
    NOT_IN = "not_in"
    CONTAINS = "contains"
    STARTS_WITH = "starts_with"
    IS_NULL = "is_null"


class Specification[T](ABC):
    """A predicate over ``T``; calling it is the same as :meth:`is_satisfied_by`."""

    @abstractmethod
    def is_satisfied_by(self, candidate: T) -> bool: ...

    @abstractmethod
    def fields(self) -> frozenset[str]:
        """Every field path the rule reads, for allowlist checks before compiling to a query."""

    def __call__(self, candidate: T) -> bool:
        return self.is_satisfied_by(candidate)

    # Self-typed so that T stays contravariant: a rule about ``object`` applies to any ``T``.
    def __and__[S](self: Specification[S], other: Specification[S]) -> Specification[S]:
        return And(self, other)

    def __or__[S](self: Specification[S], other: Specification[S]) -> Specification[S]:
        return Or(self, other)

    def __invert__[S](self: Specification[S]) -> Specification[S]:
        return Not(self)


def resolve_path(candidate: object, path: str) -> object:
    """Read a dotted attribute path (``customer.address.city``); a missing link reads as ``None``."""
    value: object = candidate
    for part in path.split("."):
        if value is None:
            return None
        value = getattr(value, part)
    return value


def _ordered(compare: Callable[[object, object], bool]) -> Callable[[object, object], bool]:
    """Ordering comparisons are false when either side is None, as in SQL."""
    return lambda left, right: left is not None and right is not None and compare(left, right)


_EVALUATORS: dict[Operator, Callable[[object, object], bool]] = {
    Operator.EQ: lambda left, right: left == right,
    Operator.NE: lambda left, right: left != right,
    Operator.LT: _ordered(cast("Callable[[object, object], bool]", op.lt)),
    Operator.LE: _ordered(cast("Callable[[object, object], bool]", op.le)),
    Operator.GT: _ordered(cast("Callable[[object, object], bool]", op.gt)),
    Operator.GE: _ordered(cast("Callable[[object, object], bool]", op.ge)),
    Operator.IN: lambda left, right: left in cast("Collection[object]", right),
    Operator.NOT_IN: lambda left, right: left not in cast("Collection[object]", right),
    Operator.CONTAINS: lambda left, right: isinstance(left, str) and str(right) in left,
    Operator.STARTS_WITH: lambda left, right: isinstance(left, str) and left.startswith(str(right)),
    Operator.IS_NULL: lambda left, right: (left is None) is bool(right),
}


@final
@dataclass(frozen=True, slots=True)
class Comparison(Specification[object]):
    """``field <op> value``: the leaf every compiler understands."""

    path: str
    operator: Operator
    value: object

    def is_satisfied_by(self, candidate: object) -> bool:
        return _EVALUATORS[self.operator](resolve_path(candidate, self.path), self.value)

    def fields(self) -> frozenset[str]:
        return frozenset({self.path})

    def __str__(self) -> str:
        return f"{self.path} {self.operator.value} {self.value!r}"


@final
@dataclass(frozen=True)
class And[T](Specification[T]):
    left: Specification[T]
    right: Specification[T]

    def is_satisfied_by(self, candidate: T) -> bool:
        return self.left.is_satisfied_by(candidate) and self.right.is_satisfied_by(candidate)

    def fields(self) -> frozenset[str]:
        return self.left.fields() | self.right.fields()

    def __str__(self) -> str:
        return f"({self.left} AND {self.right})"


@final
@dataclass(frozen=True)
class Or[T](Specification[T]):
    left: Specification[T]
    right: Specification[T]

    def is_satisfied_by(self, candidate: T) -> bool:
        return self.left.is_satisfied_by(candidate) or self.right.is_satisfied_by(candidate)

    def fields(self) -> frozenset[str]:
        return self.left.fields() | self.right.fields()

    def __str__(self) -> str:
        return f"({self.left} OR {self.right})"


@final
@dataclass(frozen=True)
class Not[T](Specification[T]):
    inner: Specification[T]

    def is_satisfied_by(self, candidate: T) -> bool:
        return not self.inner.is_satisfied_by(candidate)

    def fields(self) -> frozenset[str]:
        return self.inner.fields()

    def __str__(self) -> str:
        return f"NOT {self.inner}"


@final
@dataclass(frozen=True)
class TrueSpecification[T](Specification[T]):
    """Matches everything: the neutral element of ``&``."""

    def is_satisfied_by(self, candidate: T) -> bool:
        return True

    def fields(self) -> frozenset[str]:
        return frozenset()

    def __str__(self) -> str:
        return "TRUE"


@final
@dataclass(frozen=True)
class Predicate[T](Specification[T]):
    """An arbitrary Python rule: fine in memory, refused by query compilers (they cannot see inside it)."""

    name: str
    test: Callable[[T], bool]

    def is_satisfied_by(self, candidate: T) -> bool:
        return self.test(candidate)

    def fields(self) -> frozenset[str]:
        return frozenset()

    def __str__(self) -> str:
        return f"<predicate {self.name}>"


@final
@dataclass(frozen=True, slots=True)
class FieldPath:
    """Builds comparisons: ``field("price").gt(10) & field("name").starts_with("A")``."""

    path: str

    def _compare(self, operator: Operator, value: object) -> Comparison:
        return Comparison(self.path, operator, value)

    def eq(self, value: object) -> Comparison:
        return self._compare(Operator.EQ, value)

    def ne(self, value: object) -> Comparison:
        return self._compare(Operator.NE, value)

    def lt(self, value: object) -> Comparison:
        return self._compare(Operator.LT, value)

    def le(self, value: object) -> Comparison:
        return self._compare(Operator.LE, value)

    def gt(self, value: object) -> Comparison:
        return self._compare(Operator.GT, value)

    def ge(self, value: object) -> Comparison:
        return self._compare(Operator.GE, value)

    def is_in(self, values: Collection[object]) -> Comparison:
        return self._compare(Operator.IN, tuple(values))

    def not_in(self, values: Collection[object]) -> Comparison:
        return self._compare(Operator.NOT_IN, tuple(values))

    def contains(self, text: str) -> Comparison:
        return self._compare(Operator.CONTAINS, text)

    def starts_with(self, prefix: str) -> Comparison:
        return self._compare(Operator.STARTS_WITH, prefix)

    def is_null(self, expected: bool = True) -> Comparison:
        return self._compare(Operator.IS_NULL, expected)


def field(path: str) -> FieldPath:
    if not path or any(not part.isidentifier() for part in path.split(".")):
        raise ValueError(f"invalid field path {path!r}: use dotted Python identifiers")
    return FieldPath(path)
