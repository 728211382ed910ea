"""Round-trip assertions for serialised Results, usable from any test suite."""

from __future__ import annotations

import json

from app.core.result import Result, result_from_dict

__all__ = ["assert_result_round_trips"]


def assert_result_round_trips[T, E](
    result: Result[T, E], *, value_type: type[T] | object = object, error_type: type[E] | object = object
) -> None:
    """Serialise to a dict, through JSON text, and back: the rebuilt Result must equal the original."""
    wire = json.loads(json.dumps(result.to_dict()))
    rebuilt: Result[T, E] = result_from_dict(wire, value_type, error_type)
    if rebuilt != result:
        raise AssertionError(f"{result!r} came back as {rebuilt!r}")
