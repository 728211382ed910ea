"""Ordering and keyset helpers for the in-memory adapters: multi-field sorts, each field in its direction."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

from apibase.application.pagination import SortField
from apibase.domain.specification import resolve_path

__all__ = ["compare_keys", "sort_key_values", "sorted_by"]


def _compare_values(left: object, right: object) -> int:
    """None sorts after every value (ascending), like ``NULLS LAST``."""
    if left is None or right is None:
        return (left is None) - (right is None)
    if left == right:
        return 0
    return -1 if left < right else 1  # type: ignore[operator]


def compare_keys(left: Sequence[object], right: Sequence[object], sort: Sequence[SortField]) -> int:
    """Lexicographic comparison of two key tuples, each position in its own direction."""
    for position, spec in enumerate(sort):
        result = _compare_values(left[position], right[position])
        if result:
            return -result if spec.descending else result
    return 0


def sort_key_values(item: object, sort: Sequence[SortField]) -> tuple[object, ...]:
    return tuple(resolve_path(item, spec.name) for spec in sort)


def sorted_by[T](items: Sequence[T], sort: Sequence[SortField]) -> list[T]:
    if not sort:
        return list(items)
    compare: Callable[[T, T], int] = lambda a, b: compare_keys(  # noqa: E731
        sort_key_values(a, sort), sort_key_values(b, sort), sort
    )
    return sorted(items, key=functools.cmp_to_key(compare))
