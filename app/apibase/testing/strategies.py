"""Hypothesis strategies for the kernel: Results, widgets and their DTOs."""

from __future__ import annotations

import uuid
from decimal import Decimal

from hypothesis import strategies as st

from apibase.core.result import Err, Ok, Result
from apibase.testing.widgets import Widget, WidgetCreate

__all__ = ["prices", "results", "widget_creates", "widgets"]


def results[T, E](values: st.SearchStrategy[T], errors: st.SearchStrategy[E]) -> st.SearchStrategy[Result[T, E]]:
    oks: st.SearchStrategy[Result[T, E]] = values.map(Ok)
    errs: st.SearchStrategy[Result[T, E]] = errors.map(Err)
    return st.one_of(oks, errs)


def prices() -> st.SearchStrategy[Decimal]:
    return st.integers(min_value=0, max_value=10_000_000).map(lambda cents: Decimal(cents) / 100)


_names = st.text(
    alphabet=st.characters(codec="utf-8", categories=("L", "N"), max_codepoint=0x2FF), min_size=1, max_size=20
)
_categories = st.one_of(st.none(), st.sampled_from(["tools", "toys", "books"]))
_quantities = st.integers(min_value=0, max_value=1000)


def widget_creates() -> st.SearchStrategy[WidgetCreate]:
    return st.builds(WidgetCreate, name=_names, price=prices(), quantity=_quantities, category=_categories)


def widgets() -> st.SearchStrategy[Widget]:
    return st.builds(
        Widget,
        id=st.uuids(version=4).map(lambda value: uuid.UUID(str(value))),
        name=_names,
        price=prices(),
        quantity=_quantities,
        category=_categories,
        version=st.integers(min_value=1, max_value=100),
    )
