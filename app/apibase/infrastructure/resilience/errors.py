"""The one failure a breaker adds: the dependency's circuit is open, so the call was not even tried."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import ClassVar

from pydantic import JsonValue

from apibase.core.error_codes import error_codes
from apibase.core.errors import DependencyUnavailable

__all__ = ["CircuitOpenError", "ResilienceErrorCode"]


@error_codes("resilience")
class ResilienceErrorCode(StrEnum):
    CIRCUIT_OPEN = "resilience.circuit_open"


class CircuitOpenError(DependencyUnavailable):
    """A 503 answered without touching the dependency; ``retry_after`` tells clients when a probe will be let through.

    The dependency name and the hint ride in ``extensions`` (not only as attributes) so the error round-trips
    through ``to_dict``/``error_from_dict`` and the HTTP layer turns ``retry_after`` into ``Retry-After``.
    """

    title = "Dependency circuit open"
    default_code: ClassVar[StrEnum] = ResilienceErrorCode.CIRCUIT_OPEN

    def __init__(
        self,
        detail: str,
        *,
        code: StrEnum | None = None,
        extensions: Mapping[str, JsonValue] | None = None,
        dependency: str | None = None,
        retry_after_seconds: int | None = None,
    ) -> None:
        merged = dict(extensions or {})
        if dependency is not None:
            merged["dependency"] = dependency
        if retry_after_seconds is not None:
            if retry_after_seconds < 0:
                raise ValueError("retry_after_seconds must not be negative")
            merged["retry_after"] = retry_after_seconds
        super().__init__(detail, code=code, extensions=merged)

    @classmethod
    def for_dependency(cls, dependency: str, retry_after_seconds: int) -> CircuitOpenError:
        detail = f"The {dependency} dependency is failing; calls to it are paused for {retry_after_seconds} s."
        return cls(detail, dependency=dependency, retry_after_seconds=retry_after_seconds)

    @property
    def dependency(self) -> str:
        value = self.extensions.get("dependency")
        return value if isinstance(value, str) else ""

    @property
    def retry_after_seconds(self) -> int:
        value = self.extensions.get("retry_after")
        return value if isinstance(value, int) and not isinstance(value, bool) else 0
