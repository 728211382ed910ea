"""Signed cursors: round trip for any JSON payload, and every kind of tampering is refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import JsonValue

from apibase.application.cursor import MAX_CURSOR_LENGTH, CursorCodec, _b64encode
from apibase.core.errors import InvalidCursorError
from apibase.core.result import Err, Ok

pytestmark = pytest.mark.unit

codec = CursorCodec("a-long-enough-secret")
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=4))
def test_round_trip(payload: dict[str, JsonValue]) -> None:
    assert codec.decode(codec.encode(payload)) == Ok(payload)


def test_the_token_is_opaque_url_safe_text() -> None:
    token = codec.encode({"v": [1, "x"]})
    assert token.isascii()
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t + "A",
        lambda t: "A" + t,
        lambda t: t.replace(".", ".A", 1),
        lambda t: t.split(".")[0],
        lambda t: t + ".x",
        lambda t: "é" + t,
        lambda t: "x" * (MAX_CURSOR_LENGTH + 1),
        lambda t: "",
    ],
)
def test_tampered_tokens_are_refused(mutate: object) -> None:
    token = codec.encode({"v": [1]})
    result = codec.decode(mutate(token))  # type: ignore[operator]
    assert isinstance(result, Err)
    assert isinstance(result.error, InvalidCursorError)
    assert result.error.status == 400


def test_a_token_from_another_secret_is_refused() -> None:
    foreign = CursorCodec("another-long-secret!").encode({"v": 1})
    assert isinstance(codec.decode(foreign), Err)


def test_a_validly_signed_non_object_or_non_json_body_is_refused() -> None:
    for body in (_b64encode(b"[1, 2]"), _b64encode(b"\xff\xfe not json")):
        token = f"{body}.{codec._sign(body)}"
        assert isinstance(codec.decode(token), Err)


def test_short_secrets_are_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        CursorCodec(b"short")
