"""Pages, sort parsing and the response envelopes."""

from __future__ import annotations

from datetime import UTC

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apibase.application.pagination import (
    ApiResponse,
    CursorPage,
    Page,
    PaginatedResponse,
    ResponseMeta,
    SortField,
    parse_sort,
)
from apibase.core.errors import ValidationFailed

pytestmark = pytest.mark.unit

ALLOWED = frozenset({"name", "price"})


def test_parse_sort_reads_directions_in_order() -> None:
    assert parse_sort("-price, name", ALLOWED) == (SortField("price", descending=True), SortField("name"))
    assert parse_sort(None, ALLOWED) == ()
    assert parse_sort("", ALLOWED) == ()
    assert [str(item) for item in parse_sort("-price,name", ALLOWED)] == ["-price", "name"]


@pytest.mark.parametrize("text", ["secret", "name;drop table x", "--price", "price desc", "-"])
def test_parse_sort_rejects_anything_outside_the_allowlist(text: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_sort(text, ALLOWED)
    problem = caught.value.to_problem_detail()
    assert problem.status == 422
    assert "name, price" in (problem.detail or "")
    assert problem.model_dump()["errors"][0]["loc"] == ["sort"]


def test_cursor_page_knows_whether_more_follow() -> None:
    assert CursorPage(items=[1], limit=1, next_cursor="abc").has_next
    assert not CursorPage[int, str](items=[1], limit=1).has_next


@given(
    total=st.integers(min_value=0, max_value=500),
    offset=st.integers(min_value=0, max_value=600),
    limit=st.integers(min_value=1, max_value=100),
)
def test_paginated_response_navigation_agrees_with_arithmetic(total: int, offset: int, limit: int) -> None:
    shown = max(0, min(limit, total - offset))
    response = PaginatedResponse[int](items=list(range(shown)), offset=offset, limit=limit, total=total)
    assert response.has_next == (offset + shown < total)
    assert response.has_previous == (offset > 0)
    assert response.total_pages == (total + limit - 1) // limit
    assert response.next_offset == (offset + limit if response.has_next else None)
    assert response.previous_offset == (max(offset - limit, 0) if offset > 0 else None)


def test_paginated_response_without_total_uses_the_page_flag() -> None:
    page = Page(items=["a", "b"], offset=0, limit=2, total=None, has_next=True)
    response = PaginatedResponse[str].from_page(page, ["A", "B"])
    dumped = response.model_dump(mode="json")
    assert dumped["items"] == ["A", "B"]
    assert dumped["has_next"] is True
    assert dumped["total_pages"] is None
    assert "more" not in dumped
    assert dumped["meta"]["request_id"] is None


def test_envelopes_carry_request_id_and_utc_timestamp() -> None:
    meta = ResponseMeta(request_id="req-1")
    assert meta.timestamp.tzinfo is UTC
    envelope = ApiResponse[dict[str, int]](data={"a": 1}, meta=meta)
    assert envelope.model_dump(mode="json")["meta"]["request_id"] == "req-1"
    assert ApiResponse[int](data=1).meta.timestamp.tzinfo is UTC
    assert PaginatedResponse[int].from_page(Page([1], 0, 1, 1), [1], meta).meta == meta
