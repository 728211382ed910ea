"""Property: walking cursor pages returns every item exactly once, in order, for any data and page size."""

from __future__ import annotations

import asyncio
import itertools
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apibase.application.cursor import CursorCodec
from apibase.application.in_memory import InMemoryRepository
from apibase.application.in_memory.keyset import compare_keys, sort_key_values
from apibase.application.pagination import SortField
from apibase.testing.strategies import widget_creates
from apibase.testing.widgets import WIDGET_FIELDS, Widget, WidgetCreate, WidgetUpdate, new_widget

pytestmark = pytest.mark.unit

sorts = st.lists(
    st.builds(SortField, st.sampled_from(["name", "price", "quantity", "category"]), st.booleans()),
    max_size=3,
    unique_by=lambda sort: sort.name,
)


class Widgets(InMemoryRepository[Widget, WidgetCreate, WidgetUpdate, uuid.UUID]):
    sortable_fields = WIDGET_FIELDS
    filterable_fields = WIDGET_FIELDS


async def walk(repository: Widgets, sort: list[SortField], size: int) -> list[Widget]:
    seen: list[Widget] = []
    cursor: str | None = None
    while True:
        page = await repository.get_page(sort=sort, cursor=cursor, limit=size)
        assert len(page.items) <= size
        seen.extend(page.items)
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


@settings(max_examples=60, deadline=None)
@given(data=st.lists(widget_creates(), max_size=25), sort=sorts, size=st.integers(min_value=1, max_value=30))
def test_walking_all_pages_returns_every_item_once_in_order(
    data: list[WidgetCreate], sort: list[SortField], size: int
) -> None:
    async def scenario() -> None:
        repository = Widgets(Widget, new_widget, cursor_codec=CursorCodec("property-test-secret"))
        created = await repository.create_many(data)
        walked = await walk(repository, sort, size)
        assert sorted(w.id for w in walked) == sorted(w.id for w in created)
        keyset = [*sort, SortField("id")]
        keys = [sort_key_values(widget, keyset) for widget in walked]
        assert all(compare_keys(a, b, keyset) < 0 for a, b in itertools.pairwise(keys))
        offset_order = await repository.get_all(sort=keyset, limit=max(len(data), 1))
        assert [w.id for w in offset_order.items] == [w.id for w in walked]

    asyncio.run(scenario())
