"""Stable error codes: one enum per domain, all registered here so docs/error-codes.md can list every one.

Codes are part of the public API (clients switch on them), so they are strings that never change meaning.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

__all__ = ["CommonErrorCode", "error_codes", "registered_error_codes"]

_REGISTRY: dict[str, type[StrEnum]] = {}


def error_codes[E: type[StrEnum]](domain: str) -> Callable[[E], E]:
    """Register an enum of codes for ``domain``; every value must read ``<domain>.<name>``."""

    def register(enum: E) -> E:
        if domain in _REGISTRY and _REGISTRY[domain] is not enum:
            raise ValueError(f"domain {domain!r} already has its error-code enum {_REGISTRY[domain].__name__}")
        for member in enum:
            if not member.value.startswith(f"{domain}."):
                raise ValueError(f"error code {member.value!r} must start with {domain!r}.")
            for other in _REGISTRY.values():
                if other is not enum and member.value in other._value2member_map_:
                    raise ValueError(f"error code {member.value!r} is registered twice")
        _REGISTRY[domain] = enum
        return enum

    return register


def registered_error_codes() -> dict[str, StrEnum]:
    """Every registered code by its string value, for documentation and for rebuilding errors."""
    return {member.value: member for enum in _REGISTRY.values() for member in enum}


@error_codes("common")
class CommonErrorCode(StrEnum):
    """Codes shared by every service built on the base."""

    BAD_REQUEST = "common.bad_request"
    VALIDATION_FAILED = "common.validation_failed"
    INVALID_CURSOR = "common.invalid_cursor"
    UNAUTHORIZED = "common.unauthorized"
    FORBIDDEN = "common.forbidden"
    NOT_FOUND = "common.not_found"
    CONFLICT = "common.conflict"
    CONCURRENCY_CONFLICT = "common.concurrency_conflict"
    PRECONDITION_FAILED = "common.precondition_failed"
    INVARIANT_VIOLATED = "common.invariant_violated"
    BUSINESS_RULE_VIOLATED = "common.business_rule_violated"
    DEPENDENCY_UNAVAILABLE = "common.dependency_unavailable"
    DEPENDENCY_TIMEOUT = "common.dependency_timeout"
    PERSISTENCE_FAILED = "common.persistence_failed"
    INTERNAL = "common.internal"
    METHOD_NOT_ALLOWED = "common.method_not_allowed"
    PAYLOAD_TOO_LARGE = "common.payload_too_large"
    UNSUPPORTED_MEDIA_TYPE = "common.unsupported_media_type"
    RATE_LIMITED = "common.rate_limited"
    NOT_READY = "common.not_ready"
    REQUEST_TIMEOUT = "common.request_timeout"
