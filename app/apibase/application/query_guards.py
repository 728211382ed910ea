"""Checks every repository runs before touching storage: allowlisted fields and a bounded page window.

One implementation for all backends, so a field or window refused by one is refused by every other.
"""

from __future__ import annotations

from apibase.core.errors import FieldError, ValidationFailed

__all__ = ["MAX_LIMIT", "check_allowed", "check_window"]

MAX_LIMIT = 10_000


def check_allowed(names: frozenset[str], allowed: frozenset[str], what: str) -> None:
    """``what`` is "filter" or "sort"; an unknown field is a 422 naming the fields that are allowed."""
    unknown = sorted(names - allowed)
    if unknown:
        errors = [
            FieldError(loc=(what, name), message=f"cannot {what} by {name!r}", type=f"{what}.unknown_field")
            for name in unknown
        ]
        allowed_list = ", ".join(sorted(allowed))
        raise ValidationFailed.from_field_errors(errors, f"allowed {what} fields: {allowed_list}")


def check_window(offset: int, limit: int) -> None:
    if offset < 0 or not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(f"offset must be >= 0 and limit between 1 and {MAX_LIMIT}")
