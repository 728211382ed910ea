"""Plain-words descriptions of the regular expressions request parameters must match, for validation errors.

A pattern is exact but unreadable in an error message (an ``If-Match`` header's is 80 characters of escapes).
Where a pattern is declared, its description is registered with it; the problem handlers then tell the client
"expected an ETag from a GET ..." instead of echoing the regular expression::

    ENTITY_TAG_LIST = describe_pattern(r'^(|\\*|...)$', 'an ETag from a GET, such as "3f2a9c0d1b7e4a65-7"')

Public API: ``describe_pattern(pattern, expected) -> str`` (returns ``pattern``), ``expected_format(pattern)``.
"""

from __future__ import annotations

from typing import Final

__all__ = ["describe_pattern", "expected_format"]

_DESCRIPTIONS: dict[str, str] = {}
#: A pattern this short reads well enough as it is (``^[A-Z]{3}$``); a longer one without a description does not.
_READABLE_LENGTH: Final = 40


def describe_pattern(pattern: str, expected: str) -> str:
    """Register what ``pattern`` accepts, in words, and return the pattern for use in the type that needs it."""
    _DESCRIPTIONS[pattern] = expected
    return pattern


def expected_format(pattern: str) -> str:
    """What a value refused by ``pattern`` should have looked like, for the error's message."""
    described = _DESCRIPTIONS.get(pattern)
    if described is not None:
        return f"expected {described}"
    if len(pattern) <= _READABLE_LENGTH:
        return f"expected text matching {pattern}"
    return "does not have the expected format (the OpenAPI document states it)"
