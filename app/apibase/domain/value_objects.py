"""Value objects: immutable, compared by value, validated on construction."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["BaseValueObject"]


class BaseValueObject(BaseModel):
    """Frozen pydantic model: equal when all fields are equal, hashable, invalid values never exist."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)
