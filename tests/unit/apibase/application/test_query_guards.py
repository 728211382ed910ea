"""The allowlist and page-window checks every repository shares."""

from __future__ import annotations

import pytest

from apibase.application.query_guards import MAX_LIMIT, check_allowed, check_window
from apibase.core.errors import ValidationFailed

pytestmark = pytest.mark.unit


def test_unknown_fields_are_named_with_the_allowed_ones() -> None:
    check_allowed(frozenset({"name"}), frozenset({"name", "price"}), "sort")
    with pytest.raises(ValidationFailed) as refused:
        check_allowed(frozenset({"secret", "name"}), frozenset({"name", "price"}), "filter")
    assert refused.value.detail == "allowed filter fields: name, price"
    assert refused.value.extensions["errors"] == [
        {"loc": ["filter", "secret"], "message": "cannot filter by 'secret'", "type": "filter.unknown_field"}
    ]


@pytest.mark.parametrize(("offset", "limit"), [(-1, 10), (0, 0), (0, MAX_LIMIT + 1)])
def test_windows_outside_the_bounds_are_refused(offset: int, limit: int) -> None:
    with pytest.raises(ValidationFailed):
        check_window(offset, limit)
    check_window(0, MAX_LIMIT)
