"""contains(): the local no-op check that keeps a resync from writing anything."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apibase_operator.kube.compare import contains

pytestmark = pytest.mark.unit

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=12,
)


@given(json_values)
def test_everything_contains_itself(value: object) -> None:
    assert contains(value, value)


def test_server_added_fields_are_ignored_and_owned_fields_are_not() -> None:
    actual = {"metadata": {"name": "a", "resourceVersion": "9"}, "spec": {"replicas": 2, "paused": False}, "status": {}}
    assert contains(actual, {"metadata": {"name": "a"}, "spec": {"replicas": 2}})
    assert not contains(actual, {"spec": {"replicas": 3}})
    assert not contains(actual, {"spec": {"minReadySeconds": 5}})
    assert not contains(None, {"spec": {}})


def test_lists_are_owned_whole() -> None:
    actual = {"ports": [{"port": 80, "protocol": "TCP"}, {"port": 443, "protocol": "TCP"}]}
    assert contains(actual, {"ports": [{"port": 80}, {"port": 443}]})
    assert not contains(actual, {"ports": [{"port": 80}]})
    assert not contains({"ports": "80"}, {"ports": [{"port": 80}]})
    assert not contains({"name": ["a"]}, {"name": "a"})
