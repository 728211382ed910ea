"""Ordering errors the use cases raise: the aggregate cannot know which products exist."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from app.core.errors import ApplicationError
from app.domain.ordering.errors import OrderErrorCode

__all__ = ["UnknownProductError"]


class UnknownProductError(ApplicationError[StrEnum]):
    """A line names a product that does not exist (or was deleted): the order can never be placed as sent."""

    status: ClassVar[int] = 422
    title: ClassVar[str] = "Unknown product"
    default_code: ClassVar[StrEnum] = OrderErrorCode.UNKNOWN_PRODUCT
