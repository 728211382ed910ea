"""KeysetCursors: a cursor resumes its own listing, typed as the entity's fields, and nothing else."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from apibase.application.cursor import CursorCodec
from apibase.application.keyset_cursor import KeysetCursors, keyset_of
from apibase.application.pagination import SortField
from apibase.core.errors import InvalidCursorError
from apibase.domain.specification import field
from apibase.testing.widgets import Widget

pytestmark = pytest.mark.unit

CODEC = CursorCodec("keyset-cursor-test-secret")
CURSORS = KeysetCursors(CODEC, Widget)
BY_PRICE = (SortField("price", descending=True),)


def test_the_position_and_the_filter_come_back_in_the_fields_types() -> None:
    widget_id = uuid.uuid4()
    where = field("id").is_in([widget_id]) & field("name").starts_with("w") & field("price").le(Decimal(3))
    token = CURSORS.encode([Decimal("2.50"), widget_id], keyset_of(BY_PRICE), where)
    position = CURSORS.resume(token)
    assert (position.sort, position.where, position.after) == (BY_PRICE, where, (Decimal("2.50"), widget_id))


def test_a_cursor_of_an_unfiltered_listing_refuses_a_filter() -> None:
    token = CURSORS.encode(["a", uuid.uuid4()], keyset_of((SortField("name"),)))
    assert CURSORS.resume(token, sort=(SortField("name"),)).where is None
    with pytest.raises(InvalidCursorError, match="another filter"):
        CURSORS.resume(token, where=field("name").eq("a"))


@pytest.mark.parametrize(
    "payload",
    [
        {"s": "price,id", "v": ["1.00"]},  # fewer values than sort keys
        {"s": "price,id", "v": ["cheap", str(uuid.uuid4())]},  # a value the field cannot hold
        {"s": 1, "v": []},
        {"s": "id", "v": [str(uuid.uuid4())], "w": {"f": "price", "o": "eq", "v": "free"}},
    ],
)
def test_a_signed_payload_that_is_not_a_position_of_this_resource_is_refused(payload: dict[str, object]) -> None:
    with pytest.raises(InvalidCursorError, match="does not match this resource"):
        CURSORS.resume(CODEC.encode(payload))  # type: ignore[arg-type]


def test_fields_the_entity_does_not_declare_keep_their_json_value() -> None:
    token = CURSORS.encode(["x", uuid.uuid4()], [SortField("unknown"), SortField("id")])
    assert CURSORS.resume(token).after[0] == "x"
