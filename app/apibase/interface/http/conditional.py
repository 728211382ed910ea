"""Conditional requests on single resources (RFC 9110 section 13), built on the entity version.

A versioned entity's ETag is derived from its id and version alone, so it is cheap (no body hashing) and
``If-Match`` can be turned back into the expected version for optimistic locking::

    etag = etag_for(widget.id, widget.version)              # '"3f2a9c0d1b7e4a65-7"'
    if if_none_match_matches(request.headers.get("If-None-Match"), etag):
        return Response(status_code=304, headers={"ETag": etag})
    expected = expected_version_from_if_match(request.headers.get("If-Match"), widget_id)  # 7, or None

The id is hashed (not embedded) so any id (text, int, UUID) yields a valid entity-tag and an ETag of one
resource can never be replayed against another.

Public API (``resource_id`` is anything whose ``str()`` names the resource: text, int, UUID, a branded id):
``etag_for(resource_id, version) -> str``, ``if_none_match_matches(header, etag) -> bool``,
``expected_version_from_if_match(header, resource_id) -> int | None``.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

from apibase.core.errors import PreconditionFailedError

__all__ = ["etag_for", "expected_version_from_if_match", "if_none_match_matches"]

# entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE ; etagc = %x21 / %x23-7E / obs-text (RFC 9110 8.8.3)
_TAG: Final = r'(?:W/)?"[\x21\x23-\x7e\x80-\xff]*"'
# Possessive quantifiers: separators never need to be given back, so a hostile header cannot backtrack.
_TAG_LIST: Final = re.compile(rf"[\s,]*+{_TAG}(?:[ \t]*+,[\s,]*+{_TAG})*+[\s,]*+")
_TAG_PARTS: Final = re.compile(r'(W/)?"([\x21\x23-\x7e\x80-\xff]*)"')
_OUR_OPAQUE_TAG: Final = re.compile(r"([0-9a-f]{16})-(0|[1-9][0-9]*)")


def etag_for(resource_id: object, version: int) -> str:
    """The strong, quoted ETag of version ``version`` of the resource ``resource_id``."""
    if version < 0:
        raise ValueError("a version is never negative")
    return f'"{_fingerprint(resource_id)}-{version}"'


def if_none_match_matches(header: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` (weak comparison, RFC 9110 13.1.2): answer 304 (or 412).

    ``*`` matches any current representation; an unparsable header matches nothing, so the request is
    served normally.
    """
    if header is None or not header.strip():
        return False
    if header.strip() == "*":
        return True
    tags = _entity_tags(header)
    own = _entity_tags(etag)
    if not tags or not own:
        return False
    return own[0][1] in {opaque for _weak, opaque in tags}


def expected_version_from_if_match(header: str | None, resource_id: object) -> int | None:
    """The version ``If-Match`` expects for ``resource_id``; ``None`` when there is no precondition.

    ``If-Match`` uses strong comparison, so weak tags never match. Tags this service did not issue for this
    resource are skipped (they can never match); when none is left, or the tags name several versions, the
    precondition cannot hold and ``PreconditionFailedError`` (412) is raised.
    """
    if header is None or header.strip() in {"", "*"}:
        return None
    fingerprint = _fingerprint(resource_id)
    versions: set[int] = set()
    for weak, opaque in _entity_tags(header):
        match = _OUR_OPAQUE_TAG.fullmatch(opaque)
        if not weak and match is not None and match.group(1) == fingerprint:
            versions.add(int(match.group(2)))
    if len(versions) == 1:
        return versions.pop()
    if versions:
        raise PreconditionFailedError("If-Match names several versions of this resource; send exactly one.")
    raise PreconditionFailedError("If-Match does not name a version of this resource.")


def _fingerprint(resource_id: object) -> str:
    return hashlib.blake2b(str(resource_id).encode(), digest_size=8).hexdigest()


def _entity_tags(header: str) -> list[tuple[bool, str]]:
    """``(weak, opaque-tag)`` pairs of a comma-separated list; an empty list when the list is malformed."""
    if _TAG_LIST.fullmatch(header) is None:
        return []
    return [(match.group(1) is not None, match.group(2)) for match in _TAG_PARTS.finditer(header)]
