"""Secret-name rules shared by the adapters, so a name can never walk out of its directory or mount."""

from __future__ import annotations

import re

__all__ = ["check_flat_name", "split_field"]

# Kubernetes Secret keys allow [-._a-zA-Z0-9]; we also require an alphanumeric first character (no ".." or ".x").
_FLAT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,252}")
_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,252}")


def check_flat_name(name: str) -> str:
    """A name usable as a file name and an environment-variable suffix; ``ValueError`` otherwise."""
    if not _FLAT.fullmatch(name):
        raise ValueError(f"invalid secret name {name!r}: use letters, digits, '.', '_', '-'")
    return name


def split_field(name: str, default_field: str | None) -> tuple[str, str | None]:
    """``path/to/secret#field`` → (path, field); without ``#`` the field is ``default_field``.

    Every path segment follows the flat-name rule, so ``..`` and empty segments are refused.
    """
    path, sep, field = name.partition("#")
    if sep and not _FLAT.fullmatch(field):
        raise ValueError(f"invalid field in secret name {name!r}")
    segments = path.split("/")
    if not all(_SEGMENT.fullmatch(segment) for segment in segments):
        raise ValueError(f"invalid secret name {name!r}: use '/'-separated segments of letters, digits, '.', '_', '-'")
    return path, field if sep else default_field
