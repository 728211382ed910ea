"""Is the desired state already there? Deciding that locally is what makes a no-op resync write nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["contains"]


def contains(actual: object, desired: object) -> bool:
    """True when every field the operator sets has that value in ``actual``.

    Fields only the server or other controllers set (status, defaults, resourceVersion) are ignored, so the
    comparison sees exactly the drift that applying would repair. Lists must have the same length (the operator
    owns whole lists), and their items are compared the same way.
    """
    if isinstance(desired, Mapping):
        return isinstance(actual, Mapping) and all(
            key in actual and contains(actual[key], value) for key, value in desired.items()
        )
    if isinstance(desired, Sequence) and not isinstance(desired, str | bytes):
        return (
            isinstance(actual, Sequence)
            and not isinstance(actual, str | bytes)
            and len(actual) == len(desired)
            and all(contains(a, d) for a, d in zip(actual, desired, strict=True))
        )
    return actual == desired
