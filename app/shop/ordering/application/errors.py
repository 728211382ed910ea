"""Ordering errors the use cases raise: the aggregate cannot know which products exist."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from apibase.core.errors import ApplicationError
from shop.ordering.domain.errors import OrderErrorCode

__all__ = ["UnknownProductError"]


class UnknownProductError(ApplicationError[StrEnum]):
    """A line names a product the catalog does not have (now): the request conflicts with the catalog's state.

    409, not 422: the request is well formed, and the same body succeeds once the product exists.
    """

    status: ClassVar[int] = 409
    title: ClassVar[str] = "Unknown product"
    default_code: ClassVar[StrEnum] = OrderErrorCode.UNKNOWN_PRODUCT
