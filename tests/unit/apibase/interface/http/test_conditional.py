"""ETags from (id, version) and back; If-None-Match weak comparison; If-Match to an expected version or 412."""

from __future__ import annotations

import re
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apibase.core.errors import PreconditionFailedError
from apibase.interface.http.conditional import etag_for, expected_version_from_if_match, if_none_match_matches

pytestmark = pytest.mark.unit

ids = st.one_of(st.text(), st.integers(), st.uuids())
versions = st.integers(min_value=0, max_value=2**63)
# RFC 9110 8.8.3: entity-tag = [ weak ] DQUOTE *etagc DQUOTE
ENTITY_TAG = re.compile(r'"[\x21\x23-\x7e\x80-\xff]*"')

WIDGET = UUID("0f8fad5b-d9cb-469f-a165-70867728950e")


@given(resource_id=ids, version=versions)
def test_etag_round_trips_to_the_version(resource_id: str | int | UUID, version: int) -> None:
    etag = etag_for(resource_id, version)
    assert ENTITY_TAG.fullmatch(etag)
    assert expected_version_from_if_match(etag, resource_id) == version
    assert if_none_match_matches(etag, etag)
    assert if_none_match_matches(f"W/{etag}", etag)


@given(resource_id=ids, version=versions, other=versions)
def test_another_version_does_not_match(resource_id: str | int | UUID, version: int, other: int) -> None:
    if other != version:
        assert not if_none_match_matches(etag_for(resource_id, other), etag_for(resource_id, version))
        assert etag_for(resource_id, other) != etag_for(resource_id, version)


@given(resource_id=ids, other_id=ids, version=versions)
def test_an_etag_of_another_resource_is_refused(
    resource_id: str | int | UUID, other_id: str | int | UUID, version: int
) -> None:
    if str(resource_id) != str(other_id):
        with pytest.raises(PreconditionFailedError):
            expected_version_from_if_match(etag_for(other_id, version), resource_id)


def test_etags_are_strong_and_stable() -> None:
    assert etag_for(WIDGET, 7) == etag_for(str(WIDGET), 7)
    assert etag_for(WIDGET, 7).startswith('"')
    assert not etag_for(WIDGET, 7).startswith("W/")
    assert etag_for(1, 0) != etag_for("2", 0)


def test_a_negative_version_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        etag_for(WIDGET, -1)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, False),
        ("*", True),
        ("  *  ", True),
        ("ETAG", True),
        ("W/ETAG", True),
        ('"other", ETAG', True),
        ('"other" , W/"x",ETAG ,', True),
        (", , ETAG", True),
        ('"other"', False),
        ('"other", W/"also-other"', False),
        ("", False),
        ("garbage", False),
        ('ETAG "missing-comma"', False),
        ('"unterminated', False),
        ("*, ETAG", False),
    ],
)
def test_if_none_match(header: str | None, expected: bool) -> None:
    etag = etag_for(WIDGET, 3)
    assert if_none_match_matches(None if header is None else header.replace("ETAG", etag), etag) is expected


def test_if_none_match_with_a_malformed_own_etag_matches_nothing() -> None:
    assert not if_none_match_matches('"a"', "not-quoted")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("*", None),
        (" * ", None),
        ("V3", 3),
        ('"foreign", V3', 3),
        ("V3, V3", 3),
        ('V3, W/"x"', 3),
        ("", None),  # an empty field value is treated as no precondition
        ("  ", None),
    ],
)
def test_if_match_gives_the_expected_version(header: str | None, expected: int | None) -> None:
    value = None if header is None else header.replace("V3", etag_for(WIDGET, 3))
    assert expected_version_from_if_match(value, WIDGET) == expected


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("garbage", "does not name a version"),
        ('"foreign"', "does not name a version"),
        ("W/V3", "does not name a version"),  # If-Match uses strong comparison: a weak tag never matches
        ('"0123456789abcdef-3"', "does not name a version"),  # our format, another resource
        ("V3-with-leading-zero", "does not name a version"),
        ("V3, V4", "several versions"),
    ],
)
def test_if_match_that_cannot_hold_is_412(header: str, message: str) -> None:
    v3, v4 = etag_for(WIDGET, 3), etag_for(WIDGET, 4)
    value = header.replace("V3-with-leading-zero", v3.replace("-3", "-03")).replace("V3", v3).replace("V4", v4)
    with pytest.raises(PreconditionFailedError, match=message) as raised:
        expected_version_from_if_match(value, WIDGET)
    assert raised.value.status == 412
    assert "0123456789abcdef" not in raised.value.detail


def test_an_empty_if_none_match_matches_nothing() -> None:
    assert not if_none_match_matches("", etag_for(WIDGET, 1))
    assert not if_none_match_matches("   ", etag_for(WIDGET, 1))
